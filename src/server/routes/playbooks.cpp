// A community's playbook: read the stored TOML, replace it (validated, stored and applied; by an
// admin of that community).
#include <memory>
#include <string>
#include <vector>

#include "engine/ingest.hpp"
#include "model/entities.hpp"
#include "playbook/playbook.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr size_t kMaxPlaybookBytes = 1 << 20;

// The caller's role inside the community `slug` allows admin (Scope::kCommunity); a community
// that does not exist yet (the playbook creates it) is outside any: the base role counts there.
// Blocking.
Status RequireAdminOf(Call& c, const std::string& slug) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  for (const Community& community : communities) {
    if (community.slug == slug) return c.RequireRole(community.id, AccountRole::kAdmin, slug);
  }
  return c.RequireRole(kNoId, AccountRole::kAdmin);
}

// PUT /api/v1/communities/{slug}/playbook. The request's shape is checked on the I/O thread; the
// caller's role in the community, parsing and validation, storing and applying (SetPlaybook
// blocks until the writer applied it) on the blocking pool, so a caller without the role learns
// nothing from the validation.
Status PutPlaybook(Call& c) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/toml", "text/plain"}));
  if (c.body().size() > kMaxPlaybookBytes) {
    return Status(Code::kPayloadTooLarge,
                  "a playbook is at most " + std::to_string(kMaxPlaybookBytes) + " bytes");
  }
  if (c.services().modules == nullptr) {
    return Status::Unavailable("this server validates no playbooks");
  }
  c.Blocking([](Call& c) {
    const std::string& slug = c.Param("slug");
    QZ_RETURN_IF_ERROR(RequireAdminOf(c, slug));
    QZ_ASSIGN_OR_RETURN(Playbook parsed,
                        ParsePlaybook(c.body(), "playbook", *c.services().modules));
    if (parsed.community != slug) {
      return Status::Invalid(
          "the playbook is for community '" + parsed.community + "', not '" + slug + "'",
          "community.slug");
    }
    auto playbook = std::make_shared<const Playbook>(std::move(parsed));
    // Stored and applied in one writer transaction: a playbook that fails to apply is not
    // stored either.
    QZ_RETURN_IF_ERROR(c.ingest().SetPlaybook(playbook, std::move(c.body())));
    ApiJson sections = ApiJson::array();
    for (const auto& [key, config] : playbook->sections) sections.push_back(key);
    c.RespondJson({{"community", playbook->community},
                   {"groups", playbook->groups.size()},
                   {"sections", std::move(sections)}});
    return Status::Ok();
  });
  return Status::Ok();
}

// GET /api/v1/communities/{slug}/playbook: the stored TOML as it was sent.
Status GetPlaybook(Call& c) {
  const std::string& slug = c.Param("slug");
  QZ_ASSIGN_OR_RETURN(std::vector<StoredPlaybook> list, c.store().LoadPlaybooks());
  for (StoredPlaybook& p : list) {
    if (p.community != slug) continue;
    ApiResponse res;
    res.content_type = "text/plain; charset=utf-8";
    res.body = std::move(p.toml);
    c.Respond(std::move(res));
    return Status::Ok();
  }
  return Status::NotFound("no playbook for community '" + slug + "'");
}

}  // namespace

Status AddPlaybookRoutes(RouteTable& table) {
  constexpr const char* kPattern = "/api/v1/communities/{slug}/playbook";
  QZ_RETURN_IF_ERROR(table.Add({"GET", kPattern, GetPlaybook, RunOn::kBlockingPool}));
  // Configuration: an admin of the community (PutPlaybook checks it).
  return table.Add({"PUT", kPattern, PutPlaybook, RunOn::kIoThread, Access::kSignedIn,
                    AccountRole::kAdmin, Scope::kCommunity});
}

}  // namespace qz
