// The outbox (actions and their delivery status) and the operators' tasks: listing them, and
// the console's task workflow (assign to an account, close with a note). Retrying an action and
// working on a task act inside its community (Scope::kCommunity): the caller's role there counts.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/delivery.hpp"
#include "engine/ingest.hpp"
#include "model/action.hpp"
#include "server/module_api.hpp"
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

// The most a closing note may hold, in characters.
constexpr size_t kMaxNoteChars = 2000;

ApiJson TaskJson(const TaskRecord& r) {
  const OperatorTask& t = r.task;
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
          {"created_at", TimeJson(t.created_at)},
          {"assignee", TextOrNull(r.assignee)},
          {"closed_at", TimeJson(r.closed_at)},
          {"closed_by", TextOrNull(r.closed_by)},
          {"note", TextOrNull(r.note)}};
}

// The store's refusal of a workflow write as the API's answer: a closed task is 409
// "already_closed"; anything else (404, 503) as its Code says.
Status AnswerTaskWrite(Call& c, const Result<TaskRecord>& written) {
  if (written.ok()) {
    c.RespondJson({{"task", TaskJson(*written)}});
    return Status::Ok();
  }
  if (written.status().code() == Code::kAlreadyExists) {
    c.Respond(Refusal(409, "already_closed", written.status().message()));
    return Status::Ok();
  }
  return written.status();
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

// POST /api/v1/actions/{id}/retry: a failed or possibly_sent action back to pending, for
// delivery to attempt again with a fresh budget of attempts. The row changes through ingest
// (as delivery's own updates do: one writer), then delivery queues it. Retries run one at a
// time: a finished row is touched by nobody else, so reading it and writing it under this lock
// cannot race with a second retry that would put a row delivered meanwhile back to pending.
// A possibly_sent action may have reached the platform: retrying it is the operator's call.
// The 24 h limit on an undelivered action still counts from its creation: an older action that
// fails again transiently fails at once (its first attempt is made all the same).
Status RetryAction(Call& c) {
  Delivery* delivery = c.services().delivery;
  if (delivery == nullptr) return Status::Unavailable("this server does not deliver actions");
  static std::mutex retries;
  std::lock_guard lock(retries);
  const int64_t id = c.IntParam("id");
  QZ_ASSIGN_OR_RETURN(const std::vector<OutboxRecord> found,
                      c.store().ListActions({.limit = 1, .after_id = id - 1}));
  if (found.empty() || found.front().id != id) {
    return Status::NotFound(fmt::format("action {} not found", id));
  }
  OutboxRecord record = found.front();
  QZ_RETURN_IF_ERROR(RequireRoleIn(c, record.action.community_id, AccountRole::kOperator));
  if (record.status != ActionStatus::kFailed && record.status != ActionStatus::kPossiblySent) {
    c.Respond(Refusal(409, "not_retryable",
                      fmt::format("action {} is {}; only failed and possibly_sent actions can be "
                                  "retried",
                                  id, ActionStatusName(record.status))));
    return Status::Ok();
  }
  const TimeMs now = c.clock().Now();
  record.status = ActionStatus::kPending;
  record.attempts = 0;
  record.next_attempt_at = now;
  record.updated_at = now;
  IngestBatch batch;
  batch.outbox_updates.push_back({.id = id,
                                  .status = record.status,
                                  .attempts = record.attempts,
                                  .next_attempt_at = record.next_attempt_at,
                                  .last_error = record.last_error,
                                  .platform_ref = record.platform_ref,
                                  .updated_at = now});
  const IngestResult written = c.ingest().SubmitAndWait(std::move(batch));
  if (!written.status.ok()) return written.status;
  if (!written.missing_actions.empty()) {
    return Status::NotFound(fmt::format("action {} not found", id));
  }
  delivery->Requeue(record);
  spdlog::info("action {} ({} on {}) retried by {}", id, ActionTypeName(record.action.type),
               record.action.platform, c.principal().name);
  c.RespondJson({{"action", ActionRecordJson(record)}});
  return Status::Ok();
}

// GET /api/v1/tasks?open=&assignee=&cursor=&limit=
// `assignee=<account>`: only that account's tasks; `assignee=` (empty): only unassigned ones.
Status GetTasks(Call& c) {
  TaskQuery tq;
  QZ_ASSIGN_OR_RETURN(tq.open_only, c.query().Bool("open", true));
  if (const std::string* assignee = c.query().Get("assignee")) tq.assignee = *assignee;
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("cursor"));
  tq.after_id = page.cursor;
  tq.limit = page.limit;
  QZ_ASSIGN_OR_RETURN(const std::vector<TaskRecord> list, c.store().ListTaskRecords(tq));
  ApiJson out = ApiJson::array();
  for (const TaskRecord& t : list) out.push_back(TaskJson(t));
  const int64_t last = list.empty() ? 0 : list.back().task.id;
  c.RespondJson({{"tasks", std::move(out)}, {"next_cursor", NextCursor(page, list.size(), last)}});
  return Status::Ok();
}

// The caller's role inside the community of task `id` allows `need` (Scope::kCommunity);
// kNotFound when there is no such task.
Status RequireRoleForTask(Call& c, int64_t id, AccountRole need) {
  QZ_ASSIGN_OR_RETURN(const std::optional<TaskRecord> task, c.store().GetTask(id));
  if (!task) return Status::NotFound(fmt::format("task {} not found", id));
  return RequireRoleIn(c, task->task.community_id, need);
}

// POST /api/v1/tasks/{id}/assign {"assignee": "<account name>"}: "" unassigns. The account must
// exist and be enabled (422 "invalid_assignee" naming the field otherwise): a task assigned to
// nobody who can sign in would wait for ever.
Status AssignTask(Call& c) {
  QZ_RETURN_IF_ERROR(RequireRoleForTask(c, c.IntParam("id"), AccountRole::kOperator));
  QZ_ASSIGN_OR_RETURN(const ApiJson body, ObjectBody(c, {"assignee"}));
  QZ_ASSIGN_OR_RETURN(const std::optional<std::string> assignee,
                      OptionalString(body, "assignee"));
  if (!assignee) return Status::Invalid("required: an account name, or \"\" to unassign", "assignee");
  if (!assignee->empty()) {
    std::optional<Account> account;
    if (ValidateAccountName(*assignee).ok()) {
      QZ_ASSIGN_OR_RETURN(account, c.store().GetAccount(*assignee));
    }
    if (!account || account->disabled) {
      c.Respond(Refusal(422, "invalid_assignee",
                        fmt::format("no enabled account named '{}'", *assignee), "assignee"));
      return Status::Ok();
    }
  }
  return AnswerTaskWrite(c, c.store().AssignTask(c.IntParam("id"), *assignee));
}

// POST /api/v1/tasks/{id}/close {"note": "..."} (the body, and the note, optional): closed by
// the caller (the account or token name), at the server's time.
Status CloseTask(Call& c) {
  QZ_RETURN_IF_ERROR(RequireRoleForTask(c, c.IntParam("id"), AccountRole::kAssistant));
  QZ_ASSIGN_OR_RETURN(const ApiJson body, ObjectBody(c, {"note"}, /*empty_is_object=*/true));
  QZ_ASSIGN_OR_RETURN(const std::optional<std::string> note, OptionalString(body, "note"));
  if (note && Utf8Length(*note) > kMaxNoteChars) {
    return Status::Invalid(fmt::format("at most {} characters", kMaxNoteChars), "note");
  }
  const TaskClosing closing{
      .at = c.clock().Now(), .by = c.principal().name, .note = note.value_or("")};
  return AnswerTaskWrite(c, c.store().CloseTask(c.IntParam("id"), closing));
}

}  // namespace

Status AddOutboxRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/actions", GetActions, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add({"POST", "/api/v1/actions/{id:int}/retry", RetryAction,
                                RunOn::kBlockingPool, Access::kSignedIn, AccountRole::kOperator,
                                Scope::kCommunity}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/tasks", GetTasks, RunOn::kBlockingPool}));
  // Handing work out is an operator's; assistants do the work and close tasks. Both inside the
  // task's community.
  QZ_RETURN_IF_ERROR(table.Add({"POST", "/api/v1/tasks/{id:int}/assign", AssignTask,
                                RunOn::kBlockingPool, Access::kSignedIn, AccountRole::kOperator,
                                Scope::kCommunity}));
  return table.Add({"POST", "/api/v1/tasks/{id:int}/close", CloseTask, RunOn::kBlockingPool,
                    Access::kSignedIn, AccountRole::kAssistant, Scope::kCommunity});
}

}  // namespace qz
