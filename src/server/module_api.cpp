#include "server/module_api.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "engine/ingest.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

namespace qz {

Result<Community> CommunityOfCall(const Call& c) {
  const std::string* slug = c.query().Get("community");
  const std::string_view want = slug != nullptr ? std::string_view(*slug) : kDefaultCommunity;
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  for (const Community& x : communities) {
    if (x.slug == want) return x;
  }
  return Status::NotFound(fmt::format("no community '{}'", want));
}

Status RequireRoleIn(Call& c, CommunityId community_id, AccountRole need) {
  std::string slug;
  if (community_id != kNoId) {
    QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
    for (const Community& x : communities) {
      if (x.id == community_id) slug = x.slug;
    }
  }
  return c.RequireRole(community_id, need, slug);
}

Status SubmitCommand(const Call& c, std::string_view community, std::string command, std::string payload) {
  Event e;
  e.id = "cmd:" + RandomHex(12);
  e.type = EventType::kCommand;
  e.time = c.clock().Now();
  e.platform = "qunzhu";
  e.community = std::string(community);
  e.command = std::move(command);
  e.payload = std::move(payload);
  return SubmitOwnEvent(c, std::move(e));
}

Status SubmitOwnEvent(const Call& c, Event e) {
  IngestBatch batch;
  batch.json.push_back(EventToJson(e));
  batch.events.push_back(std::move(e));
  batch.indexes.push_back(0);
  const IngestResult result = c.ingest().SubmitAndWait(std::move(batch));
  QZ_RETURN_IF_ERROR(result.status);
  if (!result.rejected.empty()) return result.rejected.front().error;
  return Status::Ok();
}

}  // namespace qz
