#include "modules/invites/routes.hpp"

#include <fmt/format.h>

#include <map>

#include "core/crypto.hpp"
#include "core/image/qr_encode.hpp"
#include "core/time.hpp"
#include "engine/ingest.hpp"
#include "engine/module_state.hpp"
#include "modules/invites/invites.hpp"
#include "modules/invites/tables.hpp"
#include "server/module_api.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

using invites::CodeRow;
using invites::JoinRow;
using invites::OverflowRow;

constexpr std::string_view kCodes = "invites.codes";
constexpr std::string_view kJoins = "invites.joins";
constexpr std::string_view kOverflow = "invites.overflow";
constexpr size_t kMaxChannelBytes = 64;
constexpr size_t kMaxInviterBytes = 256;
constexpr size_t kMaxOperatorBytes = 128;

const InvitesConfig& ConfigOf(const Playbook& playbook) {
  static const InvitesConfig kNone;
  const auto* config = playbook.Section<InvitesConfig>("invites");
  return config != nullptr ? *config : kNone;
}

std::string LandingUrl(const InvitesConfig& config, const Community& community, std::string_view code) {
  std::string url = fmt::format("{}/j/{}", config.base_url, code);
  if (community.slug != kDefaultCommunity) url += "?c=" + community.slug;
  return url;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A code as the API shows it: the stored row, or a live code of the playbook not used yet.
struct Found {
  CodeRow row;
  const LiveCode* live = nullptr;
};

Result<Found> FindCode(const Call& c, const Community& community, const InvitesConfig& config, std::string_view code) {
  if (!IsInviteCode(code)) return Status::NotFound(fmt::format("no invite code '{}'", code));
  Found found;
  found.live = config.FindLive(code);
  QZ_ASSIGN_OR_RETURN(auto entry, c.store().GetModuleState(community.id, kCodes, RowKey(CodeRow{.code = std::string(code)})));
  if (entry) {
    auto row = DecodeRow<CodeRow>(entry->key, entry->value);
    if (!row) return Status::Internal("unreadable invite row");
    found.row = std::move(*row);
  } else if (found.live != nullptr) {
    found.row.code = std::string(code);
    found.row.kind = "live";
  } else {
    return Status::NotFound(fmt::format("no invite code '{}'", code));
  }
  return found;
}

// Members per group of the community, as committed.
Result<std::function<int64_t(std::string_view, std::string_view)>> MemberCounts(const Call& c, CommunityId community) {
  QZ_ASSIGN_OR_RETURN(std::vector<Group> groups, c.store().ListGroups(community));
  auto counts = std::make_shared<std::map<std::string, int64_t, std::less<>>>();
  for (const Group& g : groups) (*counts)[g.platform + ":" + g.external_id] = g.member_count;
  return std::function<int64_t(std::string_view, std::string_view)>(
      [counts](std::string_view platform, std::string_view id) -> int64_t {
        const auto it = counts->find(fmt::format("{}:{}", platform, id));
        return it != counts->end() ? it->second : 0;
      });
}

ApiJson CodeJson(const Call& c, const Community& community, const Playbook& playbook, const Found& found) {
  const InvitesConfig& config = ConfigOf(playbook);
  const CodeRow& r = found.row;
  ApiJson out = {{"code", r.code}, {"kind", r.kind}};
  out["group"] = r.group.empty() ? ApiJson(nullptr) : ApiJson(r.group);
  out["channel"] = r.channel;
  out["inviter"] = r.inviter.empty() ? ApiJson(nullptr) : ApiJson(r.inviter);
  out["created_by"] = r.created_by;
  out["created_at"] = r.created_at == 0 ? ApiJson(nullptr) : ApiJson(FormatRfc3339(r.created_at));
  out["joins"] = r.joins;
  out["url"] = LandingUrl(config, community, r.code);
  out["qr"] = fmt::format("/api/v1/invites/{}/qr", r.code);
  if (found.live != nullptr) {
    auto members = MemberCounts(c, community.id);
    ApiJson groups = ApiJson::array();
    for (const std::string& ref : found.live->groups) {
      const auto parsed = ParseGroupRef(ref);
      const GroupSettings* g = parsed ? playbook.FindGroup(parsed->platform, parsed->id) : nullptr;
      groups.push_back({{"group", ref},
                        {"name", g != nullptr ? g->name : ""},
                        {"members", members.ok() && parsed ? (*members)(parsed->platform, parsed->id) : 0},
                        {"capacity", g != nullptr ? g->capacity : kDefaultGroupCapacity}});
    }
    out["name"] = found.live->name;
    out["groups"] = std::move(groups);
    if (members.ok()) {
      const LiveChoice choice = ChooseGroup(*found.live, playbook, *members);
      out["hands_out"] = choice.group.empty() ? ApiJson(nullptr) : ApiJson(choice.group);
      out["next_overflow"] = choice.overflow.empty() ? ApiJson(nullptr) : ApiJson(choice.overflow);
    }
  }
  return out;
}

// 10 hex digits: unguessable enough that codes cannot be walked, short enough to type.
std::string RandomCode() { return RandomHex(5); }

Status CreateInvite(Call& c) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  const auto body = ApiJson::parse(c.body(), nullptr, false);
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "group" && it.key() != "channel" && it.key() != "inviter" && it.key() != "code" &&
        it.key() != "operator") {
      return Status::Invalid("unknown field (expected group, channel, inviter, code, operator)", it.key());
    }
    if (!it.value().is_string()) return Status::Invalid("must be a string", it.key());
  }
  auto field = [&](const char* key) { return body.contains(key) ? body[key].get<std::string>() : std::string(); };
  const std::string group = field("group");
  const auto ref = ParseGroupRef(group);
  if (!ref) return Status::Invalid("required: the group as \"platform:id\"", "group");
  const std::string channel = field("channel");
  if (channel.size() > kMaxChannelBytes) return Status::Invalid(fmt::format("at most {} bytes", kMaxChannelBytes), "channel");
  const std::string inviter = field("inviter");
  if (inviter.size() > kMaxInviterBytes) return Status::Invalid(fmt::format("at most {} bytes", kMaxInviterBytes), "inviter");
  const std::string who = body.contains("operator") ? field("operator") : "api";
  if (who.size() > kMaxOperatorBytes) return Status::Invalid(fmt::format("at most {} bytes", kMaxOperatorBytes), "operator");
  std::string code = field("code");
  if (body.contains("code") && !IsInviteCode(code)) {
    return Status::Invalid("3 to 32 of A-Z a-z 0-9 _ -", "code");
  }
  // The group must be this community's: listed in its playbook, or seen in its events.
  const auto playbook = c.ingest().playbooks()->For(community.slug);
  bool ours = playbook.FindGroup(ref->platform, ref->id) != nullptr;
  QZ_ASSIGN_OR_RETURN(const std::optional<Group> known, c.store().FindGroup(ref->platform, ref->id));
  if (known) {
    if (known->community_id != community.id) {
      return Status::Invalid(fmt::format("group {} belongs to another community", group), "group");
    }
    ours = true;
  }
  if (!ours) return Status::Invalid(fmt::format("no group {} in community '{}'", group, community.slug), "group");
  const InvitesConfig& config = ConfigOf(playbook);
  if (code.empty()) {
    code = RandomCode();
  } else if (config.FindLive(code) != nullptr) {
    return Status(Code::kAlreadyExists, fmt::format("'{}' is a live code of the playbook", code), "code");
  }
  QZ_ASSIGN_OR_RETURN(auto existing, c.store().GetModuleState(community.id, kCodes, RowKey(CodeRow{.code = code})));
  if (existing) return Status(Code::kAlreadyExists, fmt::format("invite code '{}' exists", code), "code");
  QZ_RETURN_IF_ERROR(SubmitCommand(c, community.slug, "invites.create",
                                   ApiJson{{"code", code}, {"group", group}, {"channel", channel},
                                           {"inviter", inviter}, {"operator", who}}
                                       .dump()));
  QZ_ASSIGN_OR_RETURN(const Found found, FindCode(c, community, config, code));
  c.RespondJson(CodeJson(c, community, playbook, found), 201);
  return Status::Ok();
}

Status GetInvite(Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  const auto playbook = c.ingest().playbooks()->For(community.slug);
  QZ_ASSIGN_OR_RETURN(const Found found, FindCode(c, community, ConfigOf(playbook), c.Param("code")));
  // Joins are paged by member ("platform:id"), not by a number.
  QZ_ASSIGN_OR_RETURN(const int limit, c.query().Limit());
  const std::string prefix = fmt::format("[\"{}\",", found.row.code);
  const std::string* after = c.query().Get("cursor");
  std::string after_key = prefix;
  if (after != nullptr && !after->empty() && *after != "0") after_key = RowKey(JoinRow{.code = found.row.code, .member = *after});
  QZ_ASSIGN_OR_RETURN(const std::vector<ModuleStateEntry> rows,
                      c.store().ListModuleState(community.id, kJoins, after_key, limit));
  ApiJson joins = ApiJson::array();
  std::string last;
  for (const ModuleStateEntry& e : rows) {
    if (!e.key.starts_with(prefix)) break;
    const auto j = DecodeRow<JoinRow>(e.key, e.value);
    if (!j) continue;
    joins.push_back({{"member", j->member},
                     {"name", j->name},
                     {"group", j->group},
                     {"inviter", j->inviter.empty() ? ApiJson(nullptr) : ApiJson(j->inviter)},
                     {"at", FormatRfc3339(j->at)}});
    last = j->member;
  }
  ApiJson out = CodeJson(c, community, playbook, found);
  const bool more = static_cast<int>(rows.size()) == limit && !last.empty();
  out["join_list"] = std::move(joins);
  out["next_cursor"] = more ? ApiJson(last) : ApiJson(nullptr);
  c.RespondJson(out);
  return Status::Ok();
}

Status GetQr(Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  const auto playbook = c.ingest().playbooks()->For(community.slug);
  const InvitesConfig& config = ConfigOf(playbook);
  QZ_ASSIGN_OR_RETURN(const Found found, FindCode(c, community, config, c.Param("code")));
  const std::string* format = c.query().Get("format");
  const std::string kind = format != nullptr ? *format : "png";
  if (kind != "png" && kind != "svg") return Status::Invalid("png or svg", "format");
  int scale = 8;
  if (const std::string* s = c.query().Get("scale")) {
    QZ_ASSIGN_OR_RETURN(const int64_t v, c.query().Id("scale"));
    if (v < 1 || v > 32) return Status::Invalid(fmt::format("{} is out of range (1 to 32)", *s), "scale");
    scale = static_cast<int>(v);
  }
  QZ_ASSIGN_OR_RETURN(const QrSymbol symbol, EncodeQr(LandingUrl(config, community, found.row.code)));
  ApiResponse r;
  if (kind == "svg") {
    r.content_type = "image/svg+xml";
    r.body = QrSvg(symbol, scale);
  } else {
    r.content_type = "image/png";
    r.body = QrPng(symbol, scale);
    if (r.body.empty()) return Status::Internal("the PNG could not be written");
  }
  r.headers.emplace_back("Cache-Control", "no-store");
  c.Respond(std::move(r));
  return Status::Ok();
}

ApiResponse Page(int status, std::string_view title_zh, std::string_view title_en, std::string_view detail) {
  ApiResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = fmt::format(
      "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width,initial-scale=1\"><title>{0}</title></head><body style=\"font-family:sans-serif;"
      "max-width:30em;margin:3em auto;padding:0 1em\"><h1>{0}</h1><p>{1}</p><p>{2}</p></body></html>\n",
      HtmlEscape(title_zh), HtmlEscape(title_en), HtmlEscape(detail));
  return r;
}

ApiResponse Redirect(const std::string& url) {
  ApiResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.body = url + "\n";
  r.headers.emplace_back("Location", url);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// A group's join: its invite link when the playbook has one, else a page naming it.
ApiResponse JoinGroup(const Playbook& playbook, std::string_view ref) {
  const auto parsed = ParseGroupRef(ref);
  const GroupSettings* g = parsed ? playbook.FindGroup(parsed->platform, parsed->id) : nullptr;
  if (g != nullptr && !g->invite.empty()) return Redirect(g->invite);
  const std::string name = g != nullptr && !g->name.empty() ? g->name : std::string(ref);
  return Page(200, "请联系群主获取入群方式", "Ask the team how to join", name);
}

// Whether an operator was asked for overflow group `n` of live code `code` already: then a scan
// of the full code (every visitor's, all day) writes nothing. An unreadable row asks again (the
// module asks once per number anyway).
bool AskedForOverflow(const Call& c, CommunityId community, const std::string& code, int64_t n) {
  auto entry = c.store().GetModuleState(community, kOverflow, RowKey(OverflowRow{.code = code}));
  if (!entry.ok() || !*entry) return false;
  auto row = DecodeRow<OverflowRow>((*entry)->key, (*entry)->value);
  return row && row->n >= n;
}

Status Land(Call& c) {
  const std::string* slug = c.query().Get("c");
  const std::string community_slug = slug != nullptr ? *slug : std::string(kDefaultCommunity);
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  const Community* community = nullptr;
  for (const Community& x : communities) {
    if (x.slug == community_slug) community = &x;
  }
  const ApiResponse unknown = Page(404, "二维码已失效", "This code is not valid", "");
  if (community == nullptr) {
    c.Respond(unknown);
    return Status::Ok();
  }
  const auto playbook = c.ingest().playbooks()->For(community->slug);
  const InvitesConfig& config = ConfigOf(playbook);
  auto found = FindCode(c, *community, config, c.Param("code"));
  if (!found.ok()) {
    if (found.status().code() != Code::kNotFound) return found.status();
    c.Respond(unknown);
    return Status::Ok();
  }
  if (found->live == nullptr) {
    c.Respond(found->row.group.empty() ? unknown : JoinGroup(playbook, found->row.group));
    return Status::Ok();
  }
  QZ_ASSIGN_OR_RETURN(const auto members, MemberCounts(c, community->id));
  const LiveChoice choice = ChooseGroup(*found->live, playbook, members);
  if (!choice.group.empty()) {
    c.Respond(JoinGroup(playbook, choice.group));
    return Status::Ok();
  }
  if (choice.overflow_n > 0 && !AskedForOverflow(c, community->id, found->row.code, choice.overflow_n)) {
    QZ_RETURN_IF_ERROR(SubmitCommand(c, community->slug, "invites.overflow",
                                     ApiJson{{"code", found->row.code}, {"n", choice.overflow_n}, {"name", choice.overflow}}
                                         .dump()));
  }
  c.Respond(Page(503, "群已满，新群马上就来", "All groups are full; a new one is on its way",
                 choice.overflow.empty() ? found->live->name : choice.overflow));
  return Status::Ok();
}

}  // namespace

Status AddInviteRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"POST", "/api/v1/invites", CreateInvite, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/invites/{code}", GetInvite, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/invites/{code}/qr", GetQr, RunOn::kBlockingPool}));
  return table.Add({"GET", "/j/{code}", Land, RunOn::kBlockingPool, Access::kPublic});
}

}  // namespace qz
