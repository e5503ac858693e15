// Communities, their groups, and the node's totals.
#include <optional>
#include <vector>

#include "model/entities.hpp"
#include "server/routes/json.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

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
          {"messages", g.messages}};
}

// GET /api/v1/stats
Status GetStats(Call& c) {
  QZ_ASSIGN_OR_RETURN(const StoreStats s, c.store().Stats());
  c.RespondJson({{"events", s.events},
                 {"members", s.members},
                 {"groups", s.groups},
                 {"communities", s.communities}});
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

// GET /api/v1/groups?community=
Status GetGroups(Call& c) {
  QZ_ASSIGN_OR_RETURN(const int64_t community, c.query().Id("community"));
  std::optional<CommunityId> filter;
  if (community != 0) filter = community;
  QZ_ASSIGN_OR_RETURN(const std::vector<Group> list, c.store().ListGroups(filter));
  ApiJson out = ApiJson::array();
  for (const Group& g : list) out.push_back(GroupJson(g));
  c.RespondJson({{"groups", std::move(out)}});
  return Status::Ok();
}

}  // namespace

Status AddCommunityRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/stats", GetStats, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(
      table.Add({"GET", "/api/v1/communities", GetCommunities, RunOn::kBlockingPool}));
  return table.Add({"GET", "/api/v1/groups", GetGroups, RunOn::kBlockingPool});
}

}  // namespace qz
