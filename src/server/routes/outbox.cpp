// The outbox (actions and their delivery status) and the operators' tasks.
#include <spdlog/spdlog.h>

#include <exception>
#include <vector>

#include "model/action.hpp"
#include "server/routes/json.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

ApiJson ActionRecordJson(const OutboxRecord& r) {
  ApiJson action;  // null if the stored action cannot be written as JSON (never expected)
  try {
    action = ApiJson::parse(ActionToJson(r.action), nullptr, /*allow_exceptions=*/false);
    if (action.is_discarded()) action = nullptr;
  } catch (const std::exception& e) {
    spdlog::warn("outbox action {}: cannot write as JSON: {}", r.id, e.what());
  }
  return {{"id", r.id},
          {"type", ActionTypeName(r.action.type)},
          {"status", ActionStatusName(r.status)},
          {"attempts", r.attempts},
          {"next_attempt_at", TimeJson(r.next_attempt_at)},
          {"last_error", r.last_error},
          {"platform_ref", r.platform_ref},
          {"idempotency_key", r.idempotency_key},
          {"created_at", TimeJson(r.created_at)},
          {"updated_at", TimeJson(r.updated_at)},
          {"action", std::move(action)}};
}

ApiJson TaskJson(const OperatorTask& t) {
  return {{"id", t.id},
          {"community_id", IdJson(t.community_id)},
          {"group_id", IdJson(t.group_id)},
          {"member_id", IdJson(t.member_id)},
          {"kind", t.kind},
          {"reason", t.reason},
          {"evidence", t.evidence},
          {"cause_event", t.cause_event},
          {"rule", t.rule},
          {"open", t.open},
          {"created_at", TimeJson(t.created_at)}};
}

// GET /api/v1/actions?status=&group=&cursor=&limit=
Status GetActions(Call& c) {
  ActionQuery aq;
  if (const std::string* status = c.query().Get("status")) {
    aq.status = ParseActionStatus(*status);
    if (!aq.status) {
      return Status::Invalid("must be one of pending, sending, done, failed, possibly_sent",
                             "status");
    }
  }
  QZ_ASSIGN_OR_RETURN(const int64_t group, c.query().Id("group"));
  if (group != 0) aq.group_id = group;
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("cursor"));
  aq.after_id = page.cursor;
  aq.limit = page.limit;
  QZ_ASSIGN_OR_RETURN(const std::vector<OutboxRecord> list, c.store().ListActions(aq));
  ApiJson out = ApiJson::array();
  for (const OutboxRecord& r : list) out.push_back(ActionRecordJson(r));
  const int64_t last = list.empty() ? 0 : list.back().id;
  c.RespondJson({{"actions", std::move(out)}, {"next_cursor", NextCursor(page, list.size(), last)}});
  return Status::Ok();
}

// GET /api/v1/tasks?open=&cursor=&limit=
Status GetTasks(Call& c) {
  TaskQuery tq;
  QZ_ASSIGN_OR_RETURN(tq.open_only, c.query().Bool("open", true));
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("cursor"));
  tq.after_id = page.cursor;
  tq.limit = page.limit;
  QZ_ASSIGN_OR_RETURN(const std::vector<OperatorTask> list, c.store().ListTasks(tq));
  ApiJson out = ApiJson::array();
  for (const OperatorTask& t : list) out.push_back(TaskJson(t));
  const int64_t last = list.empty() ? 0 : list.back().id;
  c.RespondJson({{"tasks", std::move(out)}, {"next_cursor", NextCursor(page, list.size(), last)}});
  return Status::Ok();
}

}  // namespace

Status AddOutboxRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/actions", GetActions, RunOn::kBlockingPool}));
  return table.Add({"GET", "/api/v1/tasks", GetTasks, RunOn::kBlockingPool});
}

}  // namespace qz
