#include "platform/telegram/telegram_protocol.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/text/utf8.hpp"
#include "model/json_type.hpp"

namespace qz::telegram {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Event times are accepted from 2000-01-01 to 2100-12-31 (model/event.hpp); a date outside is
// refused here, naming the field, rather than by ingest.
constexpr int64_t kMinDate = 946684800;   // 2000-01-01T00:00:00Z
constexpr int64_t kMaxDate = 4133980799;  // 2100-12-31T23:59:59Z
constexpr size_t kMaxNameBytes = 512;     // EventParser's bound for name and group_name
constexpr size_t kMaxLinkBytes = 2048;
constexpr size_t kMaxLinksBytes = 32 * 1024;  // attrs as a whole may be 64 KiB
constexpr size_t kMaxDescriptionBytes = 512;
constexpr int64_t kMaxRetryAfterS = 24 * 3600;
// Anything beyond 366 days is "forever" to Telegram already; the bound keeps now + duration far
// from overflow.
constexpr int64_t kMaxRestrictSeconds = 367 * 86400;


std::string Path(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

// A JSON object and its path from the top of the update ("message.chat"), for errors.
struct Node {
  simdjson::dom::object obj;
  std::string path;
};

// Reads fields and keeps the first error: once one read failed, the others return defaults, so
// a group of reads is checked once with ok(). Absent and null are the same (Telegram omits
// optional fields; a null is no value either).
class Reader {
 public:
  bool ok() const { return error_.ok(); }
  const Status& error() const { return error_; }

  void Fail(std::string_view prefix, std::string_view key, std::string message) {
    if (ok()) error_ = Status::Invalid(std::move(message), Path(prefix, key));
  }

  std::optional<element> Find(const Node& n, std::string_view key) const {
    element v;
    if (n.obj.at_key(key).get(v) || v.is_null()) return std::nullopt;
    return v;
  }
  bool Has(const Node& n, std::string_view key) const { return Find(n, key).has_value(); }

  std::optional<int64_t> OptInt(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return std::nullopt;
    if (v->type() != element_type::INT64) {
      // UINT64 is beyond int64; a double (1.5, 1e3) is not an id either.
      Fail(n.path, key,
           v->type() == element_type::UINT64
               ? std::string("must be a 64-bit signed integer")
               : fmt::format("must be an integer (got {})", JsonTypeWord(v->type())));
      return std::nullopt;
    }
    return v->get_int64().value_unsafe();
  }
  int64_t Int(const Node& n, std::string_view key) {
    const auto v = OptInt(n, key);
    if (!v) Fail(n.path, key, "required");
    return v.value_or(0);
  }
  // Unix seconds within the dates events may have.
  int64_t Date(const Node& n, std::string_view key) {
    const int64_t v = Int(n, key);
    if (ok() && (v < kMinDate || v > kMaxDate)) {
      Fail(n.path, key,
           fmt::format("{} is outside the accepted dates (2000-01-01 to 2100-12-31)", v));
    }
    return v;
  }
  // "" when absent.
  std::string_view Str(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return {};
    if (v->type() != element_type::STRING) {
      Fail(n.path, key, fmt::format("must be a string (got {})", JsonTypeWord(v->type())));
      return {};
    }
    return v->get_string().value_unsafe();
  }
  std::string_view RequiredStr(const Node& n, std::string_view key) {
    if (!Has(n, key)) Fail(n.path, key, "required");
    return Str(n, key);
  }
  std::optional<bool> OptBool(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return std::nullopt;
    if (v->type() != element_type::BOOL) {
      Fail(n.path, key, fmt::format("must be a boolean (got {})", JsonTypeWord(v->type())));
      return std::nullopt;
    }
    return v->get_bool().value_unsafe();
  }
  bool Bool(const Node& n, std::string_view key) { return OptBool(n, key).value_or(false); }

  // `v` as an object at `path`.
  std::optional<Node> AsObject(element v, std::string path) {
    simdjson::dom::object o;
    if (v.get_object().get(o)) {
      if (ok()) {
        error_ = Status::Invalid(fmt::format("must be an object (got {})", JsonTypeWord(v.type())),
                                 std::move(path));
      }
      return std::nullopt;
    }
    return Node{o, std::move(path)};
  }
  // A document's top object: errors about it name `what`, its fields are named from the top.
  std::optional<Node> Root(element v, std::string_view what) {
    auto n = AsObject(v, std::string(what));
    if (n) n->path.clear();
    return n;
  }
  std::optional<Node> Obj(const Node& n, std::string_view key, bool required) {
    const auto v = Find(n, key);
    if (!ok()) return std::nullopt;
    if (!v) {
      if (required) Fail(n.path, key, "required");
      return std::nullopt;
    }
    return AsObject(*v, Path(n.path, key));
  }
  std::optional<simdjson::dom::array> Array(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return std::nullopt;
    simdjson::dom::array a;
    if (v->get_array().get(a)) {
      Fail(n.path, key, fmt::format("must be an array (got {})", JsonTypeWord(v->type())));
      return std::nullopt;
    }
    return a;
  }

 private:
  Status error_;
};

// A parsed JSON document; views into it live as long as it does.
class Doc {
 public:
  Status Parse(std::string_view body) {
    padded_ = simdjson::padded_string(body);
    if (const auto err = parser_.parse(padded_).get(root_)) {
      if (err == simdjson::UTF8_ERROR) {
        return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(body)),
                               "body");
      }
      return Status::Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(err)),
                             "body");
    }
    return Status::Ok();
  }
  element root() const { return root_; }

 private:
  simdjson::dom::parser parser_;
  simdjson::padded_string padded_;
  element root_;
};

// The `result` of a Bot API answer {"ok":true,"result":…}. An ok:false answer is kUnavailable
// with its error_code and description (the call may work later: 409, 429, 5xx).
Result<element> Unwrap(Reader& r, element root, std::string_view method) {
  const auto top = r.Root(root, "body");
  if (!top) return r.error();
  const auto ok = r.OptBool(*top, "ok");
  if (!r.ok()) return r.error();
  if (!ok) return Status::Invalid("required", "ok");
  if (!*ok) {
    const auto code = r.OptInt(*top, "error_code");
    const std::string_view description = r.Str(*top, "description");
    return Status(Code::kUnavailable,
                  fmt::format("{} refused: {} {}", method, code.value_or(0),
                              Excerpt(description, kMaxDescriptionBytes)),
                  "ok");
  }
  const auto result = r.Find(*top, "result");
  if (!result) return Status::Invalid("required", "result");
  return *result;
}

// ---- Updates ----

std::string_view TrimSpaces(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

struct User {
  int64_t id = 0;
  bool is_bot = false;
  std::string name;  // "first last", else the username
};

std::optional<User> ReadUserAt(Reader& r, const Node& n) {
  User u;
  u.id = r.Int(n, "id");
  u.is_bot = r.Bool(n, "is_bot");
  const std::string_view first = r.Str(n, "first_name"), last = r.Str(n, "last_name"),
                         username = r.Str(n, "username");
  if (!r.ok()) return std::nullopt;
  std::string name(first);
  if (!last.empty()) {
    name += ' ';
    name += last;
  }
  std::string_view shown = TrimSpaces(name);
  if (shown.empty()) shown = username;
  u.name.assign(Utf8Prefix(shown, kMaxNameBytes));
  return u;
}

std::optional<User> ReadUser(Reader& r, const Node& parent, std::string_view key, bool required) {
  const auto n = r.Obj(parent, key, required);
  if (!n) return std::nullopt;
  return ReadUserAt(r, *n);
}

struct Chat {
  int64_t id = 0;
  std::string_view type;  // private, group, supergroup, channel
  std::string_view title;
};

std::optional<Chat> ReadChat(Reader& r, const Node& parent) {
  const auto n = r.Obj(parent, "chat", true);
  if (!n) return std::nullopt;
  Chat c;
  c.id = r.Int(*n, "id");
  c.type = r.RequiredStr(*n, "type");
  c.title = r.Str(*n, "title");
  if (!r.ok()) return std::nullopt;
  if (c.type != "private" && c.type != "group" && c.type != "supergroup" && c.type != "channel") {
    r.Fail(n->path, "type", fmt::format("unknown chat type '{}'", Excerpt(c.type, 32)));
    return std::nullopt;
  }
  return c;
}

Event NewEvent(EventType type, std::string id, const Chat& chat, const User& member, int64_t date) {
  Event e;
  e.id = std::move(id);
  e.type = type;
  e.time = date * 1000;
  e.platform = std::string(kPlatform);
  if (chat.type != "private") {  // a private chat is a direct message: no group
    e.group = std::to_string(chat.id);
    e.group_name.assign(Utf8Prefix(chat.title, kMaxNameBytes));
  }
  e.member = std::to_string(member.id);
  e.name = member.name;
  return e;
}

// The attrs object of an event: only the keys set.
std::string Attrs(bool edited, bool is_bot, const std::vector<std::string>& links) {
  std::string out;
  const auto key = [&](std::string_view k) {
    out += out.empty() ? '{' : ',';
    out += JsonString(k);
    out += ':';
  };
  if (edited) {
    key("edited");
    out += "true";
  }
  if (is_bot) {
    key("is_bot");
    out += "true";
  }
  if (!links.empty()) {
    key("links");
    out += '[';
    for (size_t i = 0; i < links.size(); ++i) {
      if (i) out += ',';
      out += JsonString(links[i]);
    }
    out += ']';
  }
  return out.empty() ? "{}" : out + '}';
}

// The byte offset of each UTF-16 unit boundary of a UTF-8 text, built once per message so that
// many entities cost one pass. Robust to invalid UTF-8 (offsets stay within the text).
class Utf16Index {
 public:
  explicit Utf16Index(std::string_view s) : s_(s) {
    at_.reserve(s.size() + 1);
    for (size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      at_.push_back(i);
      if (c >= 0xF0) at_.push_back(kInside);  // a surrogate pair: its middle is no boundary
      i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
    at_.push_back(s.size());
  }
  int64_t units() const { return static_cast<int64_t>(at_.size()) - 1; }
  std::optional<std::string_view> Substr(int64_t offset, int64_t length) const {
    if (offset < 0 || length < 0 || offset > units() || length > units() - offset) {
      return std::nullopt;
    }
    const size_t begin = at_[static_cast<size_t>(offset)];
    const size_t end = at_[static_cast<size_t>(offset + length)];
    if (begin == kInside || end == kInside || begin > end) return std::nullopt;
    return s_.substr(begin, end - begin);
  }

 private:
  static constexpr size_t kInside = std::numeric_limits<size_t>::max();
  std::string_view s_;
  std::vector<size_t> at_;
};

struct ContentKey {
  std::string_view key;
  MessageKind kind;
};
// Tested in this order: an animation also carries `document` (for old clients), a venue also
// carries `location`.
constexpr std::array<ContentKey, 20> kContentKeys = {{
    {"photo", MessageKind::kImage},    {"animation", MessageKind::kOther},
    {"sticker", MessageKind::kOther},  {"venue", MessageKind::kOther},
    {"location", MessageKind::kOther}, {"poll", MessageKind::kOther},
    {"dice", MessageKind::kOther},     {"game", MessageKind::kOther},
    {"story", MessageKind::kOther},    {"paid_media", MessageKind::kOther},
    {"giveaway", MessageKind::kOther}, {"giveaway_winners", MessageKind::kOther},
    {"invoice", MessageKind::kOther},  {"checklist", MessageKind::kOther},
    {"voice", MessageKind::kVoice},    {"audio", MessageKind::kVoice},
    {"video", MessageKind::kVideo},    {"video_note", MessageKind::kVideo},
    {"document", MessageKind::kFile},  {"contact", MessageKind::kCard},
}};

void AddUnique(std::vector<std::string>& list, std::string value, size_t max_count) {
  if (list.size() >= max_count) return;
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

// A message's text, kind, entities and reply into `e`.
void ReadContent(Reader& r, const Node& m, const Chat& chat, std::optional<MessageKind> media,
                 bool edited, Event& e) {
  const bool has_text = r.Has(m, "text");
  const std::string_view text = has_text ? r.Str(m, "text") : r.Str(m, "caption");
  const std::string_view entities_key = has_text ? "entities" : "caption_entities";
  const auto entities = r.Array(m, entities_key);
  if (!r.ok()) return;

  bool has_link = false;
  std::vector<std::string> links;
  size_t links_bytes = 0;
  std::optional<Utf16Index> index;  // built at the first entity that needs a range
  if (entities) {
    size_t i = 0;
    for (element v : *entities) {
      const auto en = r.AsObject(v, fmt::format("{}.{}[{}]", m.path, entities_key, i++));
      if (!en) return;
      const std::string_view type = r.RequiredStr(*en, "type");
      const int64_t offset = r.Int(*en, "offset");
      const int64_t length = r.Int(*en, "length");
      if (!r.ok()) return;
      if (type == "url") {
        has_link = true;
      } else if (type == "text_link") {
        // The target is hidden behind other words: kept whatever the range, for moderation.
        has_link = true;
        const std::string_view url = Utf8Prefix(r.RequiredStr(*en, "url"), kMaxLinkBytes);
        if (!r.ok()) return;
        if (links_bytes + url.size() <= kMaxLinksBytes &&
            std::find(links.begin(), links.end(), url) == links.end()) {
          links.emplace_back(url);
          links_bytes += url.size();
        }
      } else if (type == "mention") {
        if (!index) index.emplace(text);
        const auto name = index->Substr(offset, length);
        if (name && !name->empty() && name->size() <= kMaxIdBytes) {
          AddUnique(e.mentions, std::string(*name), kMaxMentions);
        }
      } else if (type == "text_mention") {
        const auto user = ReadUser(r, *en, "user", true);
        if (!r.ok()) return;
        AddUnique(e.mentions, std::to_string(user->id), kMaxMentions);
      }
    }
  }
  e.text.assign(Utf8Prefix(text, kMaxTextBytes));
  e.kind = media ? *media : has_link ? MessageKind::kLink : MessageKind::kText;

  if (const auto reply = r.Obj(m, "reply_to_message", false)) {
    const int64_t reply_id = r.Int(*reply, "message_id");
    // In a forum topic every message "replies" to the topic's first message: not a reply.
    const bool topic_root =
        r.Bool(m, "is_topic_message") && r.OptInt(m, "message_thread_id") == reply_id;
    if (!r.ok()) return;
    if (!topic_root) e.reply_to = fmt::format("{}:{}", chat.id, reply_id);
  }
  e.attrs = Attrs(edited, false, links);
}

void ReadMessage(Reader& r, const Node& m, bool edited, ParsedUpdate& out) {
  const int64_t message_id = r.Int(m, "message_id");
  const int64_t date = r.Date(m, "date");
  const int64_t edit_date = edited ? r.Date(m, "edit_date") : 0;
  const auto chat = ReadChat(r, m);
  if (!r.ok()) return;
  if (chat->type == "channel") {
    out.ignored = "channel";
    return;
  }

  const auto migrate_to = r.OptInt(m, "migrate_to_chat_id");
  const auto migrate_from = r.OptInt(m, "migrate_from_chat_id");
  if (!r.ok()) return;
  if (migrate_to) {
    out.migration = ChatMigration{chat->id, *migrate_to, date * 1000};
    return;
  }
  if (migrate_from) {
    out.migration = ChatMigration{*migrate_from, chat->id, date * 1000};
    return;
  }

  const auto from = ReadUser(r, m, "from", false);
  const auto joined = r.Array(m, "new_chat_members");
  const auto left = ReadUser(r, m, "left_chat_member", false);
  if (!r.ok()) return;
  const bool direct = chat->type == "private";
  if (joined && !direct) {
    size_t i = 0;
    for (element v : *joined) {
      const auto n = r.AsObject(v, fmt::format("{}.new_chat_members[{}]", m.path, i++));
      if (!n) return;
      const auto user = ReadUserAt(r, *n);
      if (!r.ok()) return;
      Event e =
          NewEvent(EventType::kMemberJoined, fmt::format("join:{}:{}:{}", chat->id, user->id, date),
                   *chat, *user, date);
      if (from && from->id != user->id) e.via_inviter = std::to_string(from->id);
      e.attrs = Attrs(false, user->is_bot, {});
      out.events.push_back(std::move(e));
    }
    if (out.events.empty()) out.ignored = "service message";
    return;
  }
  if (left && !direct) {
    Event e = NewEvent(EventType::kMemberLeft,
                       fmt::format("left:{}:{}:{}", chat->id, left->id, date), *chat, *left, date);
    e.reason = from && from->id != left->id ? LeaveReason::kRemoved : LeaveReason::kLeft;
    e.attrs = Attrs(false, left->is_bot, {});
    out.events.push_back(std::move(e));
    return;
  }

  std::optional<MessageKind> media;
  for (const ContentKey& c : kContentKeys) {
    if (r.Has(m, c.key)) {
      media = c.kind;
      break;
    }
  }
  if (!media && !r.Has(m, "text") && !r.Has(m, "caption")) {
    out.ignored = "service message";
    return;
  }
  // In groups Telegram fills `from` even for messages sent on behalf of a chat.
  if (!from) {
    r.Fail(m.path, "from", "required");
    return;
  }
  if (from->is_bot) {
    out.ignored = "from a bot";
    return;
  }
  Event e = NewEvent(EventType::kMessage,
                     edited ? fmt::format("{}:{}:e{}", chat->id, message_id, edit_date)
                            : fmt::format("{}:{}", chat->id, message_id),
                     *chat, *from, edited ? edit_date : date);
  ReadContent(r, m, *chat, media, edited, e);
  if (!r.ok()) return;
  out.events.push_back(std::move(e));
}

struct MemberState {
  std::string_view status;
  User user;
  bool present = false;  // in the chat
  Role role = Role::kMember;
};

std::optional<MemberState> ReadMemberState(Reader& r, const Node& parent, std::string_view key) {
  const auto n = r.Obj(parent, key, true);
  if (!n) return std::nullopt;
  MemberState s;
  s.status = r.RequiredStr(*n, "status");
  const auto user = ReadUser(r, *n, "user", true);
  if (!r.ok()) return std::nullopt;
  s.user = *user;
  if (s.status == "creator") {
    s.present = true;
    s.role = Role::kOwner;
  } else if (s.status == "administrator") {
    s.present = true;
    s.role = Role::kAdmin;
  } else if (s.status == "member") {
    s.present = true;
  } else if (s.status == "restricted") {
    // Restricted members may be in the chat or not (restricted, then left).
    const auto is_member = r.OptBool(*n, "is_member");
    if (!r.ok()) return std::nullopt;
    if (!is_member) {
      r.Fail(n->path, "is_member", "required for status restricted");
      return std::nullopt;
    }
    s.present = *is_member;
  } else if (s.status != "left" && s.status != "kicked") {
    r.Fail(n->path, "status", fmt::format("unknown status '{}'", Excerpt(s.status, 32)));
    return std::nullopt;
  }
  return s;
}

struct MemberUpdate {
  Chat chat;
  User from;
  int64_t date = 0;
  MemberState before, after;
};

std::optional<MemberUpdate> ReadMemberUpdate(Reader& r, const Node& n) {
  MemberUpdate u;
  u.date = r.Date(n, "date");
  const auto chat = ReadChat(r, n);
  const auto from = ReadUser(r, n, "from", true);
  const auto before = ReadMemberState(r, n, "old_chat_member");
  const auto after = ReadMemberState(r, n, "new_chat_member");
  if (!r.ok()) return std::nullopt;
  u.chat = *chat;
  u.from = *from;
  u.before = *before;
  u.after = *after;
  return u;
}

void ReadChatMember(Reader& r, const Node& n, ParsedUpdate& out) {
  const auto u = ReadMemberUpdate(r, n);
  if (!u) return;
  if (u->chat.type == "channel" || u->chat.type == "private") {
    out.ignored = std::string(u->chat.type);
    return;
  }
  const User& member = u->after.user;
  if (!u->before.present && u->after.present) {
    Event e = NewEvent(EventType::kMemberJoined,
                       fmt::format("join:{}:{}:{}", u->chat.id, member.id, u->date), u->chat,
                       member, u->date);
    e.role = u->after.role;
    const auto link = r.Obj(n, "invite_link", false);
    if (link) {
      const std::string_view name = r.Str(*link, "name");
      const std::string_view url = r.Str(*link, "invite_link");
      const auto creator = ReadUser(r, *link, "creator", false);
      if (!r.ok()) return;
      e.via_code.assign(Utf8Prefix(name.empty() ? url : name, kMaxIdBytes));
      if (creator) e.via_inviter = std::to_string(creator->id);
    }
    if (!r.ok()) return;
    if (e.via_inviter.empty() && u->from.id != member.id) {
      e.via_inviter = std::to_string(u->from.id);
    }
    e.attrs = Attrs(false, member.is_bot, {});
    out.events.push_back(std::move(e));
  } else if (u->before.present && !u->after.present) {
    Event e = NewEvent(EventType::kMemberLeft,
                       fmt::format("left:{}:{}:{}", u->chat.id, member.id, u->date), u->chat,
                       member, u->date);
    // Same rule as the service message, so both reports give the same event.
    e.reason = u->from.id != member.id ? LeaveReason::kRemoved : LeaveReason::kLeft;
    e.attrs = Attrs(false, member.is_bot, {});
    out.events.push_back(std::move(e));
  } else {
    out.ignored = "member change without join or leave";
  }
}

void ReadMyChatMember(Reader& r, const Node& n, ParsedUpdate& out) {
  const auto u = ReadMemberUpdate(r, n);
  if (!u) return;
  using Change = BotMembership::Change;
  BotMembership b;
  b.chat_id = u->chat.id;
  b.chat_type = std::string(u->chat.type);
  b.chat_title.assign(Utf8Prefix(u->chat.title, kMaxNameBytes));
  b.bot_id = u->after.user.id;
  b.role = u->after.role;
  b.by = u->from.id;
  b.time = u->date * 1000;
  if (!u->before.present && u->after.present) {
    b.change = Change::kAdded;
  } else if (u->before.present && !u->after.present) {
    b.change = u->after.status == "kicked" ? Change::kKicked : Change::kRemoved;
  } else if (u->before.present && u->after.role > u->before.role) {
    b.change = Change::kPromoted;
  } else if (u->before.present && u->after.role < u->before.role) {
    b.change = Change::kDemoted;
  } else {
    b.change = Change::kOther;
  }
  out.bot_membership = std::move(b);
}

constexpr std::array<std::string_view, 4> kTranslatedKinds = {"message", "edited_message",
                                                              "chat_member", "my_chat_member"};

ParsedUpdate TranslateUpdate(element v) {
  ParsedUpdate out;
  Reader r;
  const auto update = r.Root(v, "update");
  if (update) {
    out.update_id = r.OptInt(*update, "update_id");
    if (r.ok() && !out.update_id) r.Fail("", "update_id", "required");
    if (r.ok() && (*out.update_id < 0 || *out.update_id == std::numeric_limits<int64_t>::max())) {
      // The next offset is update_id + 1: it must be an int64 too.
      r.Fail("", "update_id", fmt::format("{} is out of range", *out.update_id));
      out.update_id.reset();
    }
  }
  if (r.ok()) {
    std::string_view kind;
    for (std::string_view k : kTranslatedKinds) {
      if (r.Has(*update, k)) {
        kind = k;
        break;
      }
    }
    if (kind.empty()) {
      // Another kind of update (callback_query, chat_join_request…): counted, not translated.
      for (auto [key, value] : update->obj) {
        if (key != "update_id") {
          out.ignored = Excerpt(key, 64);
          break;
        }
      }
      if (out.ignored.empty()) out.ignored = "empty update";
    } else if (const auto payload = r.Obj(*update, kind, true)) {
      if (kind == "message" || kind == "edited_message") {
        ReadMessage(r, *payload, kind == "edited_message", out);
      } else if (kind == "chat_member") {
        ReadChatMember(r, *payload, out);
      } else {
        ReadMyChatMember(r, *payload, out);
      }
    }
  }
  if (!r.ok()) {
    // Nothing of a bad update is used; only its id, for the offset.
    const auto id = out.update_id;
    out = ParsedUpdate{};
    out.update_id = id;
    out.error = r.error();
  }
  return out;
}

}  // namespace

size_t Utf16Length(std::string_view utf8) {
  size_t n = 0;
  for (const char ch : utf8) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) n += c >= 0xF0 ? 2 : 1;  // lead bytes; 4-byte ones are a pair
  }
  return n;
}

std::optional<std::string_view> Utf16Substr(std::string_view utf8, int64_t offset, int64_t length) {
  return Utf16Index(utf8).Substr(offset, length);
}

Result<UpdateBatch> ParseGetUpdates(std::string_view body) {
  Doc doc;
  QZ_RETURN_IF_ERROR(doc.Parse(body));
  Reader r;
  QZ_ASSIGN_OR_RETURN(const element result, Unwrap(r, doc.root(), "getUpdates"));
  simdjson::dom::array updates;
  if (result.get_array().get(updates)) {
    return Status::Invalid(fmt::format("must be an array (got {})", JsonTypeWord(result.type())),
                           "result");
  }
  UpdateBatch batch;
  batch.updates.reserve(updates.size());
  std::unordered_set<std::string> member_joins;  // join ids from chat_member updates
  std::vector<bool> is_message;                  // per update: message or edited_message
  for (element v : updates) {
    ParsedUpdate u = TranslateUpdate(v);
    if (u.update_id) batch.next_offset = std::max(batch.next_offset, *u.update_id + 1);
    simdjson::dom::object o;
    const bool object = !v.get_object().get(o);
    element ignored;
    const bool chat_member = object && !o.at_key("chat_member").get(ignored);
    if (chat_member) {
      for (const Event& e : u.events) member_joins.insert(e.id);
    }
    is_message.push_back(object && !chat_member);
    batch.updates.push_back(std::move(u));
  }
  // The same join reported by a service message and a chat_member update: keep the latter, which
  // alone knows the invite link (see the header).
  if (!member_joins.empty()) {
    for (size_t i = 0; i < batch.updates.size(); ++i) {
      ParsedUpdate& u = batch.updates[i];
      if (!is_message[i] || u.events.empty()) continue;
      std::erase_if(u.events, [&](const Event& e) {
        return e.type == EventType::kMemberJoined && member_joins.contains(e.id);
      });
      if (u.events.empty()) u.ignored = "duplicate of a chat_member join in this batch";
    }
  }
  return batch;
}

ParsedUpdate ParseWebhookUpdate(std::string_view body) {
  Doc doc;
  if (Status st = doc.Parse(body); !st.ok()) {
    ParsedUpdate out;
    out.error = std::move(st);
    return out;
  }
  return TranslateUpdate(doc.root());
}

// ---- Actions ----

namespace {

constexpr std::array<std::string_view, 14> kPermissions = {
    "can_send_messages",         "can_send_audios",  "can_send_documents",
    "can_send_photos",           "can_send_videos",  "can_send_video_notes",
    "can_send_voice_notes",      "can_send_polls",   "can_send_other_messages",
    "can_add_web_page_previews", "can_change_info",  "can_invite_users",
    "can_pin_messages",          "can_manage_topics"};

Result<int64_t> ParseId(std::string_view s, std::string_view field) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0) {
    return Status::Invalid(
        fmt::format("'{}' is not a Telegram id (a non-zero integer)", Excerpt(s, 40)),
        std::string(field));
  }
  return v;
}

struct MessageRef {
  int64_t chat = 0;
  int64_t message = 0;
};

// "<chat_id>:<message_id>", or an edit's "<chat_id>:<message_id>:e<edit_date>".
Result<MessageRef> ParseMessageRef(std::string_view ref, std::string_view field) {
  const auto bad = [&] {
    return Status::Invalid(fmt::format("'{}' is not a Telegram message id "
                                       "(<chat_id>:<message_id>)",
                                       Excerpt(ref, 60)),
                           std::string(field));
  };
  const size_t colon = ref.find(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view message = ref.substr(colon + 1);
  if (const size_t edit = message.find(':'); edit != std::string_view::npos) {
    const std::string_view suffix = message.substr(edit + 1);
    if (suffix.size() < 2 || suffix[0] != 'e' ||
        !std::all_of(suffix.begin() + 1, suffix.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return bad();
    }
    message = message.substr(0, edit);
  }
  const auto chat = ParseId(ref.substr(0, colon), field);
  const auto id = ParseId(message, field);
  if (!chat.ok() || !id.ok() || *id < 0) return bad();
  return MessageRef{*chat, *id};
}

Status CheckText(std::string_view text) {
  if (text.empty()) return Status::Invalid("required: Telegram sends no empty message", "text");
  if (!IsValidUtf8(text)) {
    return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(text)), "text");
  }
  if (const size_t units = Utf16Length(text); units > kMaxMessageUtf16) {
    return Status::Invalid(fmt::format("{} UTF-16 code units, more than Telegram's {} per message",
                                       units, kMaxMessageUtf16),
                           "text");
  }
  return Status::Ok();
}

std::string Dump(const nlohmann::json& j) {
  // Texts were checked for UTF-8 already; `replace` only keeps dump() from ever throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json Permissions(bool allowed) {
  nlohmann::json p = nlohmann::json::object();
  for (std::string_view k : kPermissions) p[std::string(k)] = allowed;
  return p;
}

// The message an action is about: its reply_to (for delete_message, else the cause event),
// which must be in the action's group when it names one.
Result<MessageRef> TargetMessage(const Action& a) {
  std::string_view ref = a.reply_to;
  const std::string cause_prefix = fmt::format("{}:", kPlatform);
  if (ref.empty() && a.type == ActionType::kDeleteMessage &&
      std::string_view(a.cause_event).starts_with(cause_prefix)) {
    ref = std::string_view(a.cause_event).substr(cause_prefix.size());
  }
  if (ref.empty()) return Status::Invalid("required (<chat_id>:<message_id>)", "reply_to");
  QZ_ASSIGN_OR_RETURN(const MessageRef m, ParseMessageRef(ref, "reply_to"));
  if (!a.group.empty()) {
    QZ_ASSIGN_OR_RETURN(const int64_t group, ParseId(a.group, "group"));
    if (group != m.chat) {
      return Status::Invalid(
          fmt::format("'{}' is a message of another chat than group {}", Excerpt(ref, 60), group),
          "reply_to");
    }
  }
  return m;
}

}  // namespace

Result<TelegramCall> BuildCall(const OutboxRecord& record, TimeMs now) {
  const Action& a = record.action;
  const int64_t now_s = (std::max<TimeMs>(now, 0) + 999) / 1000;  // rounded up: never early
  const auto group_and_member = [&]() -> Result<nlohmann::json> {
    QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
    QZ_ASSIGN_OR_RETURN(const int64_t user, ParseId(a.member, "member"));
    return nlohmann::json{{"chat_id", chat}, {"user_id", user}};
  };
  switch (a.type) {
    case ActionType::kSendMessage: {
      QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      return TelegramCall{"sendMessage", Dump({{"chat_id", chat}, {"text", a.text}})};
    }
    case ActionType::kReply:
    case ActionType::kWarn: {
      QZ_ASSIGN_OR_RETURN(const MessageRef m, TargetMessage(a));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      return TelegramCall{
          "sendMessage",
          Dump({{"chat_id", m.chat},
                {"text", a.text},
                {"reply_parameters",
                 {{"message_id", m.message}, {"allow_sending_without_reply", true}}}})};
    }
    case ActionType::kSendDirect: {
      QZ_ASSIGN_OR_RETURN(const int64_t user, ParseId(a.member, "member"));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      return TelegramCall{"sendMessage", Dump({{"chat_id", user}, {"text", a.text}})};
    }
    case ActionType::kDeleteMessage: {
      QZ_ASSIGN_OR_RETURN(const MessageRef m, TargetMessage(a));
      return TelegramCall{"deleteMessage", Dump({{"chat_id", m.chat}, {"message_id", m.message}})};
    }
    case ActionType::kMute: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["permissions"] = Permissions(false);
      // duration_s <= 0: until unmuted (the verify module mutes so until a member passes).
      j["until_date"] = a.duration_s <= 0 ? 0
                                          : now_s + std::clamp(a.duration_s, kMinRestrictSeconds,
                                                               kMaxRestrictSeconds);
      return TelegramCall{"restrictChatMember", Dump(j)};
    }
    case ActionType::kUnmute: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["permissions"] = Permissions(true);
      return TelegramCall{"restrictChatMember", Dump(j)};
    }
    case ActionType::kRemoveMember: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["until_date"] = now_s + kKickBanSeconds;
      j["revoke_messages"] = false;
      return TelegramCall{"banChatMember", Dump(j)};
    }
    case ActionType::kUnban: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["only_if_banned"] = true;  // without it Telegram also removes a current member
      return TelegramCall{"unbanChatMember", Dump(j)};
    }
    case ActionType::kCreateInvite: {
      QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
      if (!IsValidUtf8(a.text)) {
        return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(a.text)),
                               "text");
      }
      // Cut after kMaxInviteNameChars characters (code points, as Telegram counts the name).
      size_t chars = 0, end = 0;
      for (; end < a.text.size(); ++end) {
        if ((static_cast<unsigned char>(a.text[end]) & 0xC0) != 0x80 &&
            chars++ == kMaxInviteNameChars) {
          break;
        }
      }
      nlohmann::json j{{"chat_id", chat}, {"creates_join_request", false}};
      if (end > 0) j["name"] = a.text.substr(0, end);
      return TelegramCall{"createChatInviteLink", Dump(j)};
    }
    default:
      return Status::Invalid(fmt::format("telegram cannot perform {} (not a declared capability)",
                                         ActionTypeName(a.type)),
                             "type");
  }
}

Capabilities TelegramCapabilities() {
  Capabilities c;
  for (ActionType t :
       {ActionType::kSendMessage, ActionType::kReply, ActionType::kSendDirect,
        ActionType::kDeleteMessage, ActionType::kWarn, ActionType::kMute, ActionType::kRemoveMember,
        ActionType::kUnmute, ActionType::kUnban, ActionType::kCreateInvite}) {
    c.Add(t);
  }
  c.dedupes_sends = false;
  return c;
}

RateLimits TelegramRateLimits() {
  return {.per_second = 30, .per_chat_per_second = 1, .per_chat_per_minute = 20};
}

// ---- Responses ----

CallOutcome ParseCallResponse(std::string_view method, int status, std::string_view body) {
  CallOutcome out;
  PerformResult& p = out.perform;
  Doc doc;
  Reader r;
  std::optional<Node> top;
  if (doc.Parse(body).ok()) top = r.Root(doc.root(), "body");
  const auto ok = top ? r.OptBool(*top, "ok") : std::nullopt;
  if (!top || !ok || !r.ok()) {
    // A proxy's error page, a cut body: nothing says the call was refused for good.
    p.kind = PerformResult::Kind::kRetry;
    p.error = fmt::format("{}: HTTP {} with a body that is not a Bot API answer", method, status);
    return out;
  }
  if (*ok && status / 100 == 2) {
    p.kind = PerformResult::Kind::kDone;
    if (method == "sendMessage") {
      if (const auto msg = r.Obj(*top, "result", false)) {
        const auto chat = r.Obj(*msg, "chat", false);
        const auto id = r.OptInt(*msg, "message_id");
        const auto chat_id = chat ? r.OptInt(*chat, "id") : std::nullopt;
        if (r.ok() && id && chat_id) p.platform_ref = fmt::format("{}:{}", *chat_id, *id);
      }
    } else if (method == "createChatInviteLink") {
      if (const auto link = r.Obj(*top, "result", false)) {
        p.platform_ref = std::string(r.Str(*link, "invite_link"));
      }
    }
    return out;  // done even when the result lacks the ref: the platform did it
  }

  const auto error_code = r.OptInt(*top, "error_code");
  const std::string description(Excerpt(r.Str(*top, "description"), kMaxDescriptionBytes));
  const auto params = r.Obj(*top, "parameters", false);
  const auto retry_after = params ? r.OptInt(*params, "retry_after") : std::nullopt;
  const auto migrate = params ? r.OptInt(*params, "migrate_to_chat_id") : std::nullopt;
  const int64_t code = r.ok() && error_code ? *error_code : status;
  p.error = description.empty() ? fmt::format("{}: HTTP {}", method, code)
                                : fmt::format("{}: {}", method, description);
  if (code == 429 || status == 429) {
    p.kind = PerformResult::Kind::kRetry;
    if (r.ok() && retry_after)
      p.retry_after_ms = std::clamp<int64_t>(*retry_after, 0, kMaxRetryAfterS) * 1000;
  } else if (code / 100 != 4 && status / 100 != 4) {
    p.kind = PerformResult::Kind::kRetry;  // 5xx, or nothing we know: transient
  } else if (code == 401 || status == 401) {
    // The token was refused: every call fails until it is fixed (a restart). Retried, so that
    // nothing is lost meanwhile; delivery sees an outage and probes instead of using attempts.
    p.kind = PerformResult::Kind::kRetry;
    p.error = fmt::format("{}: the bot token was refused (401): check [platforms.telegram] token", method);
  } else if (code == 403 || status == 403) {
    p.kind = PerformResult::Kind::kFailed;
    out.bot_removed = true;
  } else if (r.ok() && migrate) {
    p.kind = PerformResult::Kind::kFailed;
    out.migrate_to_chat_id = *migrate;
  } else if (method == "deleteMessage" &&
             description.find("message to delete not found") != std::string::npos) {
    p.kind = PerformResult::Kind::kDone;  // already gone: what was asked for holds
    p.error.clear();
  } else {
    p.kind = PerformResult::Kind::kFailed;
  }
  return out;
}

// ---- Other reads ----

Result<std::vector<ChatAdmin>> ParseChatAdministrators(std::string_view body) {
  Doc doc;
  QZ_RETURN_IF_ERROR(doc.Parse(body));
  Reader r;
  QZ_ASSIGN_OR_RETURN(const element result, Unwrap(r, doc.root(), "getChatAdministrators"));
  simdjson::dom::array rows;
  if (result.get_array().get(rows)) {
    return Status::Invalid(fmt::format("must be an array (got {})", JsonTypeWord(result.type())),
                           "result");
  }
  std::vector<ChatAdmin> admins;
  size_t i = 0;
  for (element v : rows) {
    const auto n = r.AsObject(v, fmt::format("result[{}]", i++));
    if (!n) return r.error();
    const std::string_view status = r.RequiredStr(*n, "status");
    const auto user = ReadUser(r, *n, "user", true);
    if (!r.ok()) return r.error();
    if (status != "creator" && status != "administrator") {
      return Status::Invalid(
          fmt::format("'{}' is not an administrator's status", Excerpt(status, 32)),
          n->path + ".status");
    }
    admins.push_back(
        {user->id, status == "creator" ? Role::kOwner : Role::kAdmin, user->name, user->is_bot});
  }
  return admins;
}

Result<BotIdentity> ParseGetMe(std::string_view body) {
  Doc doc;
  QZ_RETURN_IF_ERROR(doc.Parse(body));
  Reader r;
  QZ_ASSIGN_OR_RETURN(const element result, Unwrap(r, doc.root(), "getMe"));
  const auto n = r.AsObject(result, "result");
  if (!n) return r.error();
  BotIdentity bot;
  bot.id = r.Int(*n, "id");
  bot.username = std::string(r.Str(*n, "username"));
  if (!r.ok()) return r.error();
  return bot;
}

}  // namespace qz::telegram
