// Communities, their groups (a page at a time, in the order asked for), and the node's totals.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/crypto.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "server/module_api.hpp"
#include "server/routes/json.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr size_t kMaxGroupQueryBytes = 256;  // `q` on /groups

ApiJson CommunityJson(const Community& c) {
  return {{"id", c.id},
          {"slug", c.slug},
          {"name", c.name},
          {"time_zone", c.time_zone},
          {"created_at", TimeJson(c.created_at)}};
}

ApiJson GroupJson(const Group& g) {
  return {{"id", g.id},
          {"community_id", g.community_id},
          {"platform", g.platform},
          {"external_id", g.external_id},
          {"name", g.name},
          {"type", GroupTypeName(g.type)},
          {"capacity", g.capacity},
          {"time_zone", g.time_zone},
          {"first_seen", TimeJson(g.first_seen)},
          {"last_activity", TimeJson(g.last_activity)},
          {"member_count", g.member_count},
          {"joins", g.joins},
          {"leaves", g.leaves},
          {"messages", g.messages},
          {"bot_present", g.bot_left_at == 0},
          {"bot_left_at", g.bot_left_at == 0 ? ApiJson(nullptr) : TimeJson(g.bot_left_at)}};
}

// GET /api/v1/stats
Status GetStats(Call& c) {
  QZ_ASSIGN_OR_RETURN(const StoreStats s, c.store().Stats());
  // The outbox by status, from the counts the store keeps (the Overview's outbox health).
  QZ_ASSIGN_OR_RETURN(const ActionCounts a, c.store().CountActions());
  c.RespondJson({{"events", s.events},
                 {"members", s.members},
                 {"groups", s.groups},
                 {"communities", s.communities},
                 {"outbox",
                  {{"pending", a.pending},
                   {"sending", a.sending},
                   {"done", a.done},
                   {"failed", a.failed},
                   {"possibly_sent", a.possibly_sent}}}});
  return Status::Ok();
}

// GET /api/v1/communities
Status GetCommunities(Call& c) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> list, c.store().ListCommunities());
  ApiJson out = ApiJson::array();
  for (const Community& x : list) out.push_back(CommunityJson(x));
  c.RespondJson({{"communities", std::move(out)}});
  return Status::Ok();
}

// The group orders, by their names in the group JSON.
struct GroupSortName {
  const char* name;
  GroupSort sort;
  bool text;  // sorted by a text (else an integer)
};
constexpr GroupSortName kGroupSorts[] = {
    {"id", GroupSort::kId, false},
    {"name", GroupSort::kName, true},
    {"platform", GroupSort::kPlatform, true},
    {"member_count", GroupSort::kMemberCount, false},
    {"messages", GroupSort::kMessages, false},
    {"last_activity", GroupSort::kLastActivity, false},
    {"first_seen", GroupSort::kFirstSeen, false},
};

ApiJson SortValueJson(const SortKey& key) {
  if (const auto* text = std::get_if<std::string>(&key.value)) return *text;
  return std::get<int64_t>(key.value);
}

// GET /api/v1/groups?community=&q=&sort=&order=&limit=&cursor=
// → {"groups":[…],"next_cursor":"…"|null,"total":n}. Keyset pages in (sort value, id) order;
// the cursor is opaque and belongs to its sort and order.
Status GetGroups(Call& c) {
  GroupQuery gq;
  QZ_ASSIGN_OR_RETURN(const int64_t community, c.query().Id("community"));
  if (community != 0) gq.community_id = community;
  if (const std::string* q = c.query().Get("q")) {
    if (q->size() > kMaxGroupQueryBytes) {
      return Status::Invalid(fmt::format("longer than {} bytes", kMaxGroupQueryBytes), "q");
    }
    gq.q = *q;
  }
  const GroupSortName* sort = &kGroupSorts[0];
  if (const std::string* name = c.query().Get("sort")) {
    sort = nullptr;
    for (const GroupSortName& s : kGroupSorts) {
      if (*name == s.name) sort = &s;
    }
    if (sort == nullptr) {
      return Status::Invalid(
          "must be one of id, name, platform, member_count, messages, last_activity, first_seen",
          "sort");
    }
  }
  gq.sort = sort->sort;
  QZ_ASSIGN_OR_RETURN(gq.descending, ReadOrder(c.query()));
  QZ_ASSIGN_OR_RETURN(gq.limit, c.query().Limit());
  if (const std::string* cursor = c.query().Get("cursor")) {
    QZ_ASSIGN_OR_RETURN(const auto key,
                        ReadSortCursor(*cursor, sort->name, gq.descending, sort->text));
    gq.after = SortKey{.value = {}, .id = key.second};
    if (sort->text) {
      gq.after->value = key.first.get<std::string>();
    } else {
      gq.after->value = key.first.get<int64_t>();
    }
  }
  QZ_ASSIGN_OR_RETURN(const GroupPage page, c.store().ListGroupsPage(gq));
  ApiJson out = ApiJson::array();
  for (const Group& g : page.groups) out.push_back(GroupJson(g));
  ApiJson next = nullptr;
  if (!page.groups.empty() && static_cast<int>(page.groups.size()) == gq.limit) {
    const SortKey last = GroupSortKey(page.groups.back(), gq.sort);
    next = SortCursor(sort->name, gq.descending, SortValueJson(last), last.id);
  }
  c.RespondJson(
      {{"groups", std::move(out)}, {"next_cursor", std::move(next)}, {"total", page.total}});
  return Status::Ok();
}

// GET /api/v1/groups/{id}
Status GetGroup(Call& c) {
  const GroupId id = c.IntParam("id");
  QZ_ASSIGN_OR_RETURN(const std::optional<Group> group, c.store().GetGroup(id));
  if (!group) return Status::NotFound("no group " + std::to_string(id));
  c.RespondJson(GroupJson(*group));
  return Status::Ok();
}

// GET /api/v1/groups/{id}/events?before=&limit=  (newest first): its conversation, joins, leaves.
Status GetGroupEvents(Call& c) {
  const GroupId id = c.IntParam("id");
  return RespondWithEvents(c, [&](int64_t before, int limit) {
    return c.store().GroupEvents(id, before, limit);
  });
}

// PUT /api/v1/groups/{platform}/{id} {"community": slug}: binds the group to a community, known
// or not yet seen (its first event then lands there). A known group moves with its active
// members (docs/events.md, group_bound); its history stays where it happened.
Status PutGroup(Call& c) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  const std::string& platform = c.Param("platform");
  const std::string& id = c.Param("id");
  const bool lower_token = std::all_of(platform.begin(), platform.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
  if (!lower_token || platform.size() > 32) {
    return Status::Invalid("a platform name: lower-case letters, digits, '_' or '-'", "platform");
  }
  if (id.size() > kMaxIdBytes) return Status::Invalid(fmt::format("at most {} bytes", kMaxIdBytes), "id");
  const auto body = ApiJson::parse(c.body(), nullptr, false);
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "community") return Status::Invalid("unknown field (expected community)", it.key());
  }
  if (!body.contains("community") || !body["community"].is_string()) {
    return Status::Invalid("required: the community's slug (a string)", "community");
  }
  const std::string slug = body["community"].get<std::string>();
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  const auto community = std::find_if(communities.begin(), communities.end(),
                                      [&](const Community& x) { return x.slug == slug; });
  if (community == communities.end()) {
    return Status::Invalid(fmt::format("no community '{}' (a playbook creates one)", slug),
                           "community");
  }
  Event e;
  e.id = "bind:" + RandomHex(12);
  e.type = EventType::kGroupBound;
  e.time = c.clock().Now();
  e.platform = platform;
  e.group = id;
  e.to = slug;
  QZ_RETURN_IF_ERROR(SubmitOwnEvent(c, std::move(e)));
  QZ_ASSIGN_OR_RETURN(const std::optional<Group> group, c.store().FindGroup(platform, id));
  if (!group || group->community_id != community->id) {
    return Status::Internal("the bound group was not found after binding");
  }
  c.RespondJson(GroupJson(*group));
  return Status::Ok();
}

}  // namespace

Status AddCommunityRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/stats", GetStats, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(
      table.Add({"GET", "/api/v1/communities", GetCommunities, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/groups", GetGroups, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(
      table.Add({"GET", "/api/v1/groups/{id:int}", GetGroup, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add(
      {"GET", "/api/v1/groups/{id:int}/events", GetGroupEvents, RunOn::kBlockingPool}));
  // Configuration (which community a group belongs to): admin.
  return table.Add({"PUT", "/api/v1/groups/{platform}/{id}", PutGroup, RunOn::kBlockingPool,
                    Access::kSignedIn, AccountRole::kAdmin});
}

}  // namespace qz
