// A community's playbook: read the stored TOML, replace it (validated, stored and applied).
#include <memory>
#include <string>
#include <vector>

#include "engine/ingest.hpp"
#include "playbook/playbook.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr size_t kMaxPlaybookBytes = 1 << 20;

// PUT /api/v1/communities/{slug}/playbook. Parsing and validation run on the I/O thread; storing
// and applying (SetPlaybook blocks until the writer applied it) on the blocking pool.
Status PutPlaybook(Call& c) {
  const std::string& slug = c.Param("slug");
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/toml", "text/plain"}));
  if (c.body().size() > kMaxPlaybookBytes) {
    return Status(Code::kPayloadTooLarge,
                  "a playbook is at most " + std::to_string(kMaxPlaybookBytes) + " bytes");
  }
  if (c.services().modules == nullptr) {
    return Status::Unavailable("this server validates no playbooks");
  }
  QZ_ASSIGN_OR_RETURN(Playbook parsed, ParsePlaybook(c.body(), "playbook", *c.services().modules));
  if (parsed.community != slug) {
    return Status::Invalid(
        "the playbook is for community '" + parsed.community + "', not '" + slug + "'",
        "community.slug");
  }
  auto playbook = std::make_shared<const Playbook>(std::move(parsed));
  c.Blocking([playbook](Call& c) {
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
  // Configuration: admin.
  return table.Add(
      {"PUT", kPattern, PutPlaybook, RunOn::kIoThread, Access::kSignedIn, AccountRole::kAdmin});
}

}  // namespace qz
