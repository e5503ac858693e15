#include "modules/moderation/routes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/time.hpp"
#include "engine/module_state.hpp"
#include "modules/moderation/tables.hpp"
#include "server/module_api.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr std::string_view kTable = "moderation.decisions";
constexpr std::string_view kCounters = "moderation.counters";
constexpr std::string_view kDecisionCounter = "decision";  // decide.cpp's NextId(ctx, "decision")

Result<CommunityId> CommunityOf(const Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  return community.id;
}

// A stored decision row as the API shows it: the id, then the values in declaration order.
ApiJson DecisionJson(const ModuleStateEntry& row) {
  ApiJson out = ApiJson::object();
  const auto key = ApiJson::parse(row.key, nullptr, false);
  out["id"] = key.is_array() && !key.empty() ? key[0] : ApiJson(nullptr);
  const auto values = ApiJson::parse(row.value, nullptr, false);
  if (!values.is_object()) return out;
  for (auto it = values.begin(); it != values.end(); ++it) {
    if (it.key() == "quotes") {
      out["quotes"] = ApiJson::parse(it.value().get<std::string>(), nullptr, false);
    } else if (it.key() == "time" || it.key() == "reviewed_at") {
      const int64_t ms = it.value().get<int64_t>();
      out[it.key()] = ms == 0 ? ApiJson(nullptr) : ApiJson(FormatRfc3339(ms));
    } else {
      out[it.key()] = it.value();
    }
  }
  return out;
}

// The most decision ids one listing request looks at: a page whose filters match few decisions
// ends early with a cursor to continue from, so a request's work is bounded whatever the log's
// size (each id is one keyed read).
constexpr int64_t kScanBudget = 2000;

// GET /api/v1/moderation/decisions?group=&member=&since=&limit=&cursor=, newest first. Decision
// ids count up from 1 in each community (the module's "decision" counter holds the newest), so
// the listing walks ids down from the cursor (or the newest) and reads each by its key; the
// store's key order (bytes: "[10]" before "[9]") is not the ids' order. `next_cursor` is null
// once the walk reached id 1; otherwise it continues below the last id looked at, even when the
// page holds fewer than `limit` decisions (the scan budget ran out).
Status ListDecisions(Call& c) {
  QZ_ASSIGN_OR_RETURN(const CommunityId community, CommunityOf(c));
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("cursor"));
  const std::string* group = c.query().Get("group");
  const std::string* member = c.query().Get("member");
  TimeMs since = 0;
  if (const std::string* s = c.query().Get("since")) {
    auto ts = ParseRfc3339(*s);
    if (!ts.ok()) return Status::Invalid(std::string(ts.status().message()), "since");
    since = ts->ms;
  }
  QZ_ASSIGN_OR_RETURN(
      const std::optional<ModuleStateEntry> counter,
      c.store().GetModuleState(community, kCounters,
                               RowKey(moderation::CounterRow{.name = std::string(kDecisionCounter)})));
  int64_t newest = 0;
  if (counter) {
    const auto row = DecodeRow<moderation::CounterRow>(counter->key, counter->value);
    if (!row) return Status::Internal("the moderation decision counter is unreadable");
    newest = row->value;
  }
  int64_t id = page.cursor != 0 ? std::min(page.cursor - 1, newest) : newest;
  ApiJson out = ApiJson::array();
  int64_t looked = 0;
  for (; id >= 1 && static_cast<int>(out.size()) < page.limit && looked < kScanBudget;
       --id, ++looked) {
    QZ_ASSIGN_OR_RETURN(
        const std::optional<ModuleStateEntry> row,
        c.store().GetModuleState(community, kTable, RowKey(moderation::DecisionRow{.id = id})));
    if (!row) continue;
    const auto value = ApiJson::parse(row->value, nullptr, false);
    if (!value.is_object()) continue;
    if (group != nullptr && value.value("group", "") != *group) continue;
    if (member != nullptr && value.value("member", "") != *member) continue;
    if (since != 0 && value.value("time", int64_t{0}) < since) continue;
    out.push_back(DecisionJson(*row));
  }
  // `id` is the next one to look at: continue below the last one looked at.
  const ApiJson next = id >= 1 ? ApiJson(std::to_string(id + 1)) : ApiJson(nullptr);
  c.RespondJson({{"decisions", std::move(out)}, {"next_cursor", next}});
  return Status::Ok();
}

Result<ModuleStateEntry> FindDecision(const Call& c, CommunityId community, int64_t id) {
  QZ_ASSIGN_OR_RETURN(std::optional<ModuleStateEntry> row,
                      c.store().GetModuleState(community, kTable, fmt::format("[{}]", id)));
  if (!row) return Status::NotFound(fmt::format("no moderation decision {}", id));
  return std::move(*row);
}

Status GetDecision(Call& c) {
  QZ_ASSIGN_OR_RETURN(const CommunityId community, CommunityOf(c));
  QZ_ASSIGN_OR_RETURN(const ModuleStateEntry row, FindDecision(c, community, c.IntParam("id")));
  c.RespondJson(DecisionJson(row));
  return Status::Ok();
}

// Undo and confirm: a `command` event through ingest (durable, replayed), then the row as it
// stands. Operators of the decision's community (Scope::kCommunity): the caller's role there is
// checked before anything else is told about the decision.
Status Review(Call& c, std::string_view verb) {
  QZ_ASSIGN_OR_RETURN(const Community of, CommunityOfCall(c));
  QZ_RETURN_IF_ERROR(c.RequireRole(of.id, AccountRole::kOperator, of.slug));
  const CommunityId community = of.id;
  const int64_t id = c.IntParam("id");
  QZ_RETURN_IF_ERROR(FindDecision(c, community, id).status());
  std::string who = "api";
  if (!c.body().empty()) {
    QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
    const auto body = ApiJson::parse(c.body(), nullptr, false);
    if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (it.key() != "operator") return Status::Invalid("unknown field", it.key());
    }
    if (body.contains("operator")) {
      if (!body["operator"].is_string() || body["operator"].get<std::string>().size() > 128) {
        return Status::Invalid("a string of at most 128 bytes", "operator");
      }
      who = body["operator"].get<std::string>();
    }
  }
  QZ_RETURN_IF_ERROR(SubmitCommand(c, of.slug, fmt::format("moderation.{}", verb),
                                   ApiJson{{"decision", id}, {"operator", who}}.dump()));
  QZ_ASSIGN_OR_RETURN(const ModuleStateEntry row, FindDecision(c, community, id));
  c.RespondJson(DecisionJson(row));
  return Status::Ok();
}

}  // namespace

Status AddModerationRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/moderation/decisions", ListDecisions, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(
      table.Add({"GET", "/api/v1/moderation/decisions/{id:int}", GetDecision, RunOn::kBlockingPool}));
  // Reviews act inside the decision's community: an operator there (Review checks it).
  QZ_RETURN_IF_ERROR(table.Add({"POST", "/api/v1/moderation/decisions/{id:int}/undo",
                                [](Call& c) { return Review(c, "undo"); }, RunOn::kBlockingPool,
                                Access::kSignedIn, AccountRole::kOperator, Scope::kCommunity}));
  return table.Add({"POST", "/api/v1/moderation/decisions/{id:int}/confirm",
                    [](Call& c) { return Review(c, "confirm"); }, RunOn::kBlockingPool,
                    Access::kSignedIn, AccountRole::kOperator, Scope::kCommunity});
}

}  // namespace qz
