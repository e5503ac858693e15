#include "platform/onebot/onebot_protocol.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include "core/text/utf8.hpp"
#include "core/time.hpp"
#include "model/json_type.hpp"
#include "platform/onebot/cq_code.hpp"
#include "platform/onebot/onebot_json.hpp"

namespace qz::onebot {

using namespace json_read;  // NOLINT(google-build-using-namespace): this folder's own reader

namespace {

// The members of a JSON object being written, for attrs.
class JsonObjectWriter {
 public:
  void Raw(std::string_view key, std::string_view json) {
    out_ += out_.empty() ? '{' : ',';
    out_ += JsonString(key);
    out_ += ':';
    out_ += json;
  }
  void Str(std::string_view key, std::string_view value) { Raw(key, JsonString(value)); }
  std::string Done() && { return out_.empty() ? "{}" : std::move(out_) + '}'; }

 private:
  std::string out_;
};

bool StartsWithHttp(std::string_view s) {
  auto prefix = [&](std::string_view p) {
    if (s.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
      if (c != p[i]) return false;
    }
    return true;
  };
  return prefix("http://") || prefix("https://");
}

bool HasLink(std::string_view text) {
  for (size_t i = text.find(':'); i != std::string_view::npos; i = text.find(':', i + 1)) {
    if (i >= 4 && StartsWithHttp(text.substr(i - 4))) return true;
    if (i >= 5 && StartsWithHttp(text.substr(i - 5))) return true;
  }
  return false;
}

// A segment of either message form, with its JSON as kept in attrs.
struct Piece {
  CqSegment seg;
  std::string raw;
};

std::string SegmentJson(const CqSegment& seg) {
  JsonObjectWriter data;
  for (const auto& [k, v] : seg.data) data.Str(k, v);
  JsonObjectWriter w;
  w.Str("type", seg.type);
  w.Raw("data", std::move(data).Done());
  return std::move(w).Done();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reports

struct ReportParser::Impl {
  ParseOptions options;
  // DOM, as in model/event.cpp. A second parser reads the JSON inside json cards: parsing with
  // the first would invalidate the report's elements still in use.
  simdjson::dom::parser parser;
  simdjson::dom::parser card_parser;
  std::string buffer;       // the report copied with simdjson's padding
  std::string card_buffer;  // a json card's text, likewise

  Result<Report> Parse(std::string_view json);
  Status ParseMessage(object o, TimeMs time, Report& r);
  Status ParseNotice(object o, TimeMs time, Report& r);
  Status ParseRequest(object o, TimeMs time, Report& r);
  Status ParseMeta(object o, TimeMs time, Report& r);
  Result<std::vector<Piece>> Segments(object o);
  MessageKind CardKind(std::string_view card_json);
  Event NewEvent(EventType type, TimeMs time) const {
    Event e;
    e.type = type;
    e.time = time;
    e.time_offset = options.time_offset_minutes;
    e.platform = options.platform;
    return e;
  }
};

ReportParser::ReportParser(ParseOptions options) : impl_(new Impl) {
  impl_->options = std::move(options);
}
ReportParser::~ReportParser() { delete impl_; }
Result<Report> ReportParser::Parse(std::string_view json) { return impl_->Parse(json); }

Result<Report> ReportParser::Impl::Parse(std::string_view json) {
  element doc;
  if (auto err = ParseDom(parser, buffer, json, doc)) {
    if (err == simdjson::UTF8_ERROR) {
      return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(json)));
    }
    return Status::Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(err)));
  }
  object o;
  if (doc.get_object().get(o)) return Status::Invalid("a OneBot report must be a JSON object");
  Report r;
  QZ_ASSIGN_OR_RETURN(r.self_id, ReadQq(o, "self_id", true));
  QZ_ASSIGN_OR_RETURN(const std::string post_type, RequiredString(o, "post_type"));
  if (post_type != "message" && post_type != "notice" && post_type != "request" &&
      post_type != "meta_event") {
    // message_sent: the bot's own messages (NapCat's reportSelfMessage); unknown kinds are
    // newer than this code. Neither is an error the implementation could fix.
    r.content = Ignored{post_type == "message_sent" ? std::string(post_type)
                                                    : "post_type:" + Cut(post_type, kMaxWhatBytes)};
    return r;
  }
  QZ_ASSIGN_OR_RETURN(const TimeMs time, ReadTime(o, options.time_offset_minutes));
  Status st;
  if (post_type == "message") {
    st = ParseMessage(o, time, r);
  } else if (post_type == "notice") {
    st = ParseNotice(o, time, r);
  } else if (post_type == "request") {
    st = ParseRequest(o, time, r);
  } else {
    st = ParseMeta(o, time, r);
  }
  if (!st.ok()) return st;
  return r;
}

Result<std::vector<Piece>> ReportParser::Impl::Segments(object o) {
  std::vector<Piece> pieces;
  std::optional<element> m = Find(o, "message");
  std::string_view path = "message";
  if (!m) {
    m = Find(o, "raw_message");
    path = "raw_message";
  }
  if (!m) return Status::Invalid("required (or raw_message)", "message");
  if (m->type() == element_type::STRING) {
    for (CqSegment& seg : ParseCq(m->get_string().value_unsafe())) {
      pieces.push_back({std::move(seg), {}});
    }
    return pieces;
  }
  array arr;
  if (m->type() == element_type::OBJECT) {
    // A single segment object: allowed when sending, accepted here too.
    pieces.reserve(1);
  } else if (m->get_array().get(arr)) {
    return Status::Invalid(fmt::format("must be a string (CQ codes) or an array of segments "
                                       "(got {})",
                                       JsonTypeWord(m->type())),
                           std::string(path));
  }
  auto read = [&](element item, std::string_view at) -> Status {
    object so;
    if (item.get_object().get(so)) {
      return Status::Invalid(
          fmt::format("a segment must be an object (got {})", JsonTypeWord(item.type())),
          std::string(at));
    }
    Piece p;
    QZ_ASSIGN_OR_RETURN(p.seg.type, ReadString(so, "type", true, fmt::format("{}.type", at)));
    if (p.seg.type.empty()) return Status::Invalid("required", fmt::format("{}.type", at));
    if (const std::optional<element> data = Find(so, "data")) {
      object d;
      if (data->get_object().get(d)) {
        return Status::Invalid(fmt::format("must be an object (got {})", JsonTypeWord(data->type())),
                               fmt::format("{}.data", at));
      }
      // Values are strings by the spec; some implementations send numbers (at.qq, reply.id).
      for (auto [key, v] : d) {
        std::string value;
        if (v.type() == element_type::STRING) {
          value.assign(v.get_string().value_unsafe());
        } else if (!v.is_null()) {
          value = simdjson::minify(v);
        }
        p.seg.data.emplace(std::string(key), std::move(value));
      }
    }
    if (p.seg.type != "text" && p.seg.type != "face" && p.seg.type != "at" &&
        p.seg.type != "reply") {
      p.raw = simdjson::minify(item);
    }
    pieces.push_back(std::move(p));
    return Status::Ok();
  };
  if (m->type() == element_type::OBJECT) {
    QZ_RETURN_IF_ERROR(read(*m, path));
    return pieces;
  }
  size_t i = 0;
  for (element item : arr) {
    QZ_RETURN_IF_ERROR(read(item, fmt::format("{}[{}]", path, i++)));
  }
  return pieces;
}

MessageKind ReportParser::Impl::CardKind(std::string_view card_json) {
  element card;
  object co;
  std::string_view app;
  if (card_json.size() <= kMaxTextBytes && !ParseDom(card_parser, card_buffer, card_json, card) &&
      !card.get_object().get(co) && !co["app"].get_string().get(app) &&
      app.starts_with("com.tencent.miniapp")) {
    return MessageKind::kMiniprogram;
  }
  return MessageKind::kCard;
}

Status ReportParser::Impl::ParseMessage(object o, TimeMs time, Report& r) {
  QZ_ASSIGN_OR_RETURN(const std::string message_type, RequiredString(o, "message_type"));
  if (message_type != "group" && message_type != "private") {
    r.content = Ignored{"message:" + Cut(message_type, kMaxWhatBytes)};  // e.g. guild
    return Status::Ok();
  }
  QZ_ASSIGN_OR_RETURN(const std::string message_id, ReadMessageId(o));
  QZ_ASSIGN_OR_RETURN(const std::string user, ReadQq(o, "user_id", true));
  std::string group;
  if (message_type == "group") {
    QZ_ASSIGN_OR_RETURN(group, ReadQq(o, "group_id", false));
    if (group.empty()) return Status::Invalid("required for a group message", "group_id");
  }
  QZ_ASSIGN_OR_RETURN(std::vector<Piece> pieces, Segments(o));
  if (user == r.self_id) {
    r.content = Ignored{"message from the bot itself"};
    return Status::Ok();
  }

  Event e = NewEvent(EventType::kMessage, time);
  e.id = r.self_id + ':' + message_id;
  e.group = std::move(group);
  e.member = user;
  if (const std::optional<element> sender = Find(o, "sender")) {
    object so;
    if (sender->get_object().get(so)) {
      return Status::Invalid(fmt::format("must be an object (got {})", JsonTypeWord(sender->type())),
                             "sender");
    }
    const std::string card = ReadString(so, "card", false).value();
    e.name = Cut(card.empty() ? ReadString(so, "nickname", false).value() : card, kMaxNameBytes);
    if (!e.group.empty()) e.role = ParseSenderRole(ReadString(so, "role", false).value());
  }
  e.group_name = Cut(ReadString(o, "group_name", false).value(), kMaxNameBytes);  // NapCat's

  JsonObjectWriter attrs;
  if (const std::optional<element> anon = Find(o, "anonymous")) {
    // Anonymous group messages (rare since NTQQ) all come from user_id 80000000.
    std::string a = simdjson::minify(*anon);
    if (a.size() <= kMaxAnonymousBytes) attrs.Raw("onebot_anonymous", a);
    object ao;
    if (!anon->get_object().get(ao)) {
      if (std::string name = ReadString(ao, "name", false).value(); !name.empty()) {
        e.name = Cut(name, kMaxNameBytes);
      }
    }
  }

  std::optional<MessageKind> kind;
  bool unknown = false;
  std::string kept;
  size_t dropped = 0;
  for (Piece& p : pieces) {
    const std::string& t = p.seg.type;
    if (t == "text") {
      if (e.text.size() <= kMaxTextBytes) e.text += p.seg.Get("text");
      continue;
    }
    if (t == "face") continue;
    if (t == "at") {
      const std::string_view qq = p.seg.Get("qq");
      if (!qq.empty() && qq.size() <= kMaxIdBytes && e.mentions.size() < kMaxMentions &&
          std::find(e.mentions.begin(), e.mentions.end(), qq) == e.mentions.end()) {
        e.mentions.emplace_back(qq);
      }
      continue;
    }
    if (t == "reply") {
      const std::string_view id = p.seg.Get("id");
      if (e.reply_to.empty() && !id.empty() && id.size() + r.self_id.size() < kMaxIdBytes) {
        e.reply_to = fmt::format("{}:{}", r.self_id, id);
      }
      continue;
    }
    if (p.raw.empty()) p.raw = SegmentJson(p.seg);
    if (kept.size() + p.raw.size() + 1 <= kMaxKeptSegmentBytes) {
      kept += kept.empty() ? '[' : ',';
      kept += p.raw;
    } else {
      ++dropped;
    }
    std::optional<MessageKind> k;
    if (t == "image") {
      k = MessageKind::kImage;
      std::string_view url = p.seg.Get("url");
      if (url.empty()) url = p.seg.Get("file");
      if (StartsWithHttp(url) && r.image_urls.size() < kMaxImageUrls) {
        r.image_urls.emplace_back(url);
      }
    } else if (t == "record") {
      k = MessageKind::kVoice;
    } else if (t == "video") {
      k = MessageKind::kVideo;
    } else if (t == "file") {
      k = MessageKind::kFile;
    } else if (t == "redbag") {
      k = MessageKind::kRedpacket;
    } else if (t == "json") {
      k = CardKind(p.seg.Get("data"));
    } else if (t == "xml" || t == "contact") {
      k = MessageKind::kCard;
    } else if (t == "share") {
      k = MessageKind::kLink;
      if (const std::string_view url = p.seg.Get("url");
          e.url.empty() && url.size() <= kMaxUrlBytes) {
        e.url = url;
      }
    } else {
      unknown = true;
    }
    if (k && !kind) kind = k;
  }
  if (e.text.size() > kMaxTextBytes) {
    e.text.resize(Utf8Prefix(e.text, kMaxTextBytes).size());
    attrs.Raw("onebot_text_truncated", "true");
  }
  e.kind = kind              ? *kind
           : unknown         ? MessageKind::kOther
           : HasLink(e.text) ? MessageKind::kLink
                             : MessageKind::kText;
  if (!kept.empty()) attrs.Raw("onebot_segments", kept + ']');
  if (dropped > 0) attrs.Raw("onebot_segments_dropped", std::to_string(dropped));
  e.attrs = std::move(attrs).Done();
  r.content = std::move(e);
  return Status::Ok();
}

Status ReportParser::Impl::ParseNotice(object o, TimeMs time, Report& r) {
  QZ_ASSIGN_OR_RETURN(const std::string notice_type, RequiredString(o, "notice_type"));
  QZ_ASSIGN_OR_RETURN(const std::string sub_type, ReadString(o, "sub_type", true));
  const bool member_change = notice_type == "group_increase" || notice_type == "group_decrease";
  if (!member_change && notice_type != "group_recall" && notice_type != "group_ban" &&
      notice_type != "group_admin") {
    std::string what = "notice:" + Cut(notice_type, kMaxWhatBytes);
    if (!sub_type.empty()) what += ':' + Cut(sub_type, kMaxWhatBytes);
    r.content = Ignored{std::move(what)};
    return Status::Ok();
  }
  QZ_ASSIGN_OR_RETURN(const std::string group, ReadQq(o, "group_id", true));
  QZ_ASSIGN_OR_RETURN(const std::string user, ReadQq(o, "user_id", true));
  QZ_ASSIGN_OR_RETURN(std::string operator_id, ReadQq(o, "operator_id", false));
  if (operator_id == "0") operator_id.clear();  // "unknown" in several implementations

  if (notice_type == "group_recall") {
    QZ_ASSIGN_OR_RETURN(const std::string message_id, ReadMessageId(o));
    r.content = Recall{group, r.self_id + ':' + message_id, user,
                       operator_id.empty() ? user : operator_id, time};
    return Status::Ok();
  }
  if (notice_type == "group_ban") {
    QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> duration, ReadInt(o, "duration", "duration"));
    r.content = Ban{group,
                    user == "0" ? std::string() : user,
                    operator_id,
                    duration.value_or(0),
                    sub_type == "lift_ban",
                    time};
    return Status::Ok();
  }
  if (notice_type == "group_admin") {
    if (sub_type != "set" && sub_type != "unset") {
      return Status::Invalid("must be set or unset for group_admin", "sub_type");
    }
    if (user == r.self_id) {  // the bot is no member of the community (as for its own messages)
      r.content = Ignored{"notice:group_admin:" + sub_type + ":self"};
      return Status::Ok();
    }
    // The platform says which role the member has now: a member sync of one member.
    Event e = NewEvent(EventType::kMemberSynced, time);
    e.id = fmt::format("{}:admin:{}:{}:{}", r.self_id, group, user, time / 1000);
    e.group = group;
    e.member = user;
    e.role = sub_type == "set" ? Role::kAdmin : Role::kMember;
    r.content = std::move(e);
    return Status::Ok();
  }

  const bool joined = notice_type == "group_increase";
  // About the bot account itself: the group's event, not a member's. Whoever did it (invited,
  // approved or removed the bot) is its member, when reported; never the bot.
  const bool about_bot = user == r.self_id || sub_type == "kick_me";
  Event e = NewEvent(about_bot ? (joined ? EventType::kBotAdded : EventType::kBotRemoved)
                               : (joined ? EventType::kMemberJoined : EventType::kMemberLeft),
                     time);
  e.id = fmt::format("{}:{}:{}:{}:{}", r.self_id, notice_type, group, user, time / 1000);
  e.group = group;
  e.member = about_bot ? (operator_id == r.self_id ? std::string() : operator_id) : user;
  const bool by_other = !operator_id.empty() && operator_id != user;
  if (about_bot) {
    // bot_added / bot_removed carry no more than that: the bot is in the group, or is not.
  } else if (joined) {
    // Only an invitation names a referrer: on approve the operator is the admin who let them in.
    if (sub_type == "invite" && by_other) e.via_inviter = operator_id;
  } else {
    e.reason = sub_type == "kick" ? LeaveReason::kRemoved : LeaveReason::kLeft;
  }
  JsonObjectWriter attrs;
  if (!sub_type.empty()) attrs.Str("onebot_sub_type", Cut(sub_type, kMaxWhatBytes));
  if (by_other) attrs.Str("onebot_operator", operator_id);
  e.attrs = std::move(attrs).Done();
  r.content = std::move(e);
  return Status::Ok();
}

Status ReportParser::Impl::ParseRequest(object o, TimeMs time, Report& r) {
  QZ_ASSIGN_OR_RETURN(const std::string request_type, RequiredString(o, "request_type"));
  if (request_type != "group") {
    r.content = Ignored{"request:" + Cut(request_type, kMaxWhatBytes)};
    return Status::Ok();
  }
  JoinRequest j;
  QZ_ASSIGN_OR_RETURN(j.flag, RequiredString(o, "flag"));
  QZ_ASSIGN_OR_RETURN(j.group, ReadQq(o, "group_id", true));
  QZ_ASSIGN_OR_RETURN(j.user, ReadQq(o, "user_id", true));
  QZ_ASSIGN_OR_RETURN(j.sub_type, RequiredString(o, "sub_type"));
  j.comment = Cut(ReadString(o, "comment", false).value(), kMaxCommentBytes);
  j.time = time;
  if (j.sub_type != "add") {  // the bot is invited: a person decides (JoinRequest's comment)
    r.content = std::move(j);
    return Status::Ok();
  }
  // "<self_id>:<flag>": the flag is what answers the request, and the account that received it
  // is the one that may (BuildCall). Cut, it would answer nothing.
  if (r.self_id.size() + 1 + j.flag.size() > kMaxIdBytes) {
    return Status::Invalid(fmt::format("longer than {} bytes", kMaxIdBytes - r.self_id.size() - 1), "flag");
  }
  Event e = NewEvent(EventType::kJoinRequest, time);
  e.id = fmt::format("{}:request:{}:{}:{}", r.self_id, j.group, j.user, time / 1000);
  e.group = std::move(j.group);
  e.member = std::move(j.user);
  e.text = std::move(j.comment);
  e.request = fmt::format("{}:{}", r.self_id, j.flag);
  r.content = std::move(e);
  return Status::Ok();
}

Status ReportParser::Impl::ParseMeta(object o, TimeMs time, Report& r) {
  QZ_ASSIGN_OR_RETURN(const std::string meta_type, RequiredString(o, "meta_event_type"));
  Meta m;
  m.time = time;
  if (meta_type == "heartbeat") {
    m.kind = Meta::Kind::kHeartbeat;
    QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> interval, ReadInt(o, "interval", "interval"));
    if (interval && *interval < 0) return Status::Invalid("must not be negative", "interval");
    m.interval_ms = interval.value_or(0);
    if (const std::optional<element> status = Find(o, "status")) {
      object so;
      if (status->get_object().get(so)) {
        return Status::Invalid(fmt::format("must be an object (got {})", JsonTypeWord(status->type())),
                               "status");
      }
      bool b = false;
      if (!so["online"].get_bool().get(b)) m.online = b;
      if (!so["good"].get_bool().get(b)) m.good = b;
    }
  } else if (meta_type == "lifecycle") {
    m.kind = Meta::Kind::kLifecycle;
    QZ_ASSIGN_OR_RETURN(m.sub_type, RequiredString(o, "sub_type"));
  } else {
    r.content = Ignored{"meta_event:" + Cut(meta_type, kMaxWhatBytes)};
    return Status::Ok();
  }
  r.content = std::move(m);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Signature

bool VerifySignature(std::string_view secret, std::string_view body, std::string_view header) {
  constexpr std::string_view kPrefix = "sha1=";
  constexpr size_t kMacBytes = 20;
  if (secret.empty() || secret.size() > INT_MAX) return false;
  if (header.size() != kPrefix.size() + 2 * kMacBytes || !header.starts_with(kPrefix)) return false;
  unsigned char given[kMacBytes];
  for (size_t i = 0; i < kMacBytes; ++i) {
    unsigned value = 0;
    const char* hex = header.data() + kPrefix.size() + 2 * i;
    const auto [end, ec] = std::from_chars(hex, hex + 2, value, 16);
    if (ec != std::errc() || end != hex + 2) return false;
    given[i] = static_cast<unsigned char>(value);
  }
  static const unsigned char kEmpty = 0;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  const auto* data = body.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(body.data());
  if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), data, body.size(), mac,
           &mac_len) == nullptr ||
      mac_len != kMacBytes) {
    return false;
  }
  return CRYPTO_memcmp(mac, given, kMacBytes) == 0;
}

}  // namespace qz::onebot
