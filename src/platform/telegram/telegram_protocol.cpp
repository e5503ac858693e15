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
#include "platform/telegram/telegram_json.hpp"

namespace qz::telegram {
using namespace json_read;  // NOLINT(google-build-using-namespace): this folder's own reader

namespace {

// ---- Updates ----

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
  // A chat does not migrate to itself (group_migrated would be refused).
  if (migrate_to == chat->id || migrate_from == chat->id) {
    r.Fail(m.path, migrate_to == chat->id ? "migrate_to_chat_id" : "migrate_from_chat_id",
           "is the chat's own id");
    return;
  }
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

// The invite link of a join or join request, if any: via.code is its name, else its URL.
// Returns the link's creator, when it names one.
std::optional<int64_t> ReadInviteLink(Reader& r, const Node& n, Event& e) {
  const auto link = r.Obj(n, "invite_link", false);
  if (!link) return std::nullopt;
  const std::string_view name = r.Str(*link, "name");
  const std::string_view url = r.Str(*link, "invite_link");
  const auto creator = ReadUser(r, *link, "creator", false);
  if (!r.ok()) return std::nullopt;
  e.via_code.assign(Utf8Prefix(name.empty() ? url : name, kMaxIdBytes));
  if (!creator) return std::nullopt;
  return creator->id;
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
    const auto creator = ReadInviteLink(r, n, e);
    if (!r.ok()) return;
    if (creator) e.via_inviter = std::to_string(*creator);
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

// Someone asks to join a group. Telegram sends it to each admin bot that may answer it (one
// with can_invite_users), so the id and the handle name the bot: each bot's request is answered
// through that bot (the adapter reads the handle).
void ReadChatJoinRequest(Reader& r, const Node& n, int64_t bot_id, ParsedUpdate& out) {
  const int64_t date = r.Date(n, "date");
  const auto chat = ReadChat(r, n);
  const auto from = ReadUser(r, n, "from", true);
  const std::string_view bio = r.Str(n, "bio");
  if (!r.ok()) return;
  if (chat->type == "channel" || chat->type == "private") {
    out.ignored = std::string(chat->type);
    return;
  }
  Event e = NewEvent(EventType::kJoinRequest,
                     fmt::format("{}:join_request:{}:{}:{}", bot_id, chat->id, from->id, date),
                     *chat, *from, date);
  e.text.assign(Utf8Prefix(bio, kMaxTextBytes));
  e.request = fmt::format("{}:{}:{}", bot_id, chat->id, from->id);
  ReadInviteLink(r, n, e);  // its creator is the inviter of the join that follows an approval
  if (!r.ok()) return;
  e.attrs = Attrs(false, from->is_bot, {});
  out.events.push_back(std::move(e));
}

constexpr std::array<std::string_view, 5> kTranslatedKinds = {
    "message", "edited_message", "chat_member", "my_chat_member", "chat_join_request"};

ParsedUpdate TranslateUpdate(element v, int64_t bot_id) {
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
      // Another kind of update (callback_query, message_reaction…): counted, not translated.
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
      } else if (kind == "chat_join_request") {
        ReadChatJoinRequest(r, *payload, bot_id, out);
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

Result<UpdateBatch> ParseGetUpdates(std::string_view body, int64_t bot_id) {
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
    ParsedUpdate u = TranslateUpdate(v, bot_id);
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

ParsedUpdate ParseWebhookUpdate(std::string_view body, int64_t bot_id) {
  Doc doc;
  if (Status st = doc.Parse(body); !st.ok()) {
    ParsedUpdate out;
    out.error = std::move(st);
    return out;
  }
  return TranslateUpdate(doc.root(), bot_id);
}

Event MigrationEvent(const ChatMigration& m) {
  Event e;
  e.id = fmt::format("migrate:{}", m.old_chat_id);
  e.type = EventType::kGroupMigrated;
  e.time = m.time;
  e.platform = std::string(kPlatform);
  e.group = std::to_string(m.old_chat_id);
  e.to = std::to_string(m.new_chat_id);
  return e;
}

std::optional<Event> BotMembershipEvent(const BotMembership& b) {
  using Change = BotMembership::Change;
  if (b.chat_type != "group" && b.chat_type != "supergroup") return std::nullopt;
  const bool removed = b.change == Change::kRemoved || b.change == Change::kKicked;
  if (!removed && b.change != Change::kAdded) return std::nullopt;
  Event e;
  e.type = removed ? EventType::kBotRemoved : EventType::kBotAdded;
  // Both changes of one second (removed, then added again) are distinct events.
  e.id = fmt::format("{}:{}:{}:{}", EventTypeName(e.type), b.chat_id, b.bot_id, b.time / 1000);
  e.time = b.time;
  e.platform = std::string(kPlatform);
  e.group = std::to_string(b.chat_id);
  e.group_name = b.chat_title;
  if (b.by != 0) e.member = std::to_string(b.by);
  return e;
}

}  // namespace qz::telegram
