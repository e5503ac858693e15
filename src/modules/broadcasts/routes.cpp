#include "modules/broadcasts/routes.hpp"

#include <fmt/format.h>

#include <map>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "engine/module_state.hpp"
#include "modules/broadcasts/tables.hpp"
#include "playbook/playbook.hpp"
#include "server/module_api.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

using broadcasts::BroadcastRow;

constexpr std::string_view kTable = "broadcasts.broadcasts";
constexpr size_t kMaxTextBytes = 4096;
constexpr size_t kMaxGroups = 10000;

Result<BroadcastRow> Find(const Call& c, const Community& community, const std::string& id) {
  QZ_ASSIGN_OR_RETURN(auto entry, c.store().GetModuleState(community.id, kTable, RowKey(BroadcastRow{.id = id})));
  if (!entry) return Status::NotFound(fmt::format("no broadcast '{}'", id));
  auto row = DecodeRow<BroadcastRow>(entry->key, entry->value);
  if (!row) return Status::Internal("unreadable broadcast row");
  return std::move(*row);
}

Result<ApiJson> BroadcastJson(const Call& c, const BroadcastRow& row) {
  ApiJson out = {{"id", row.id}, {"status", row.status}};
  out["text"] = {{"zh", row.text_zh}, {"en", row.text_en}};
  out["target"] = row.target;
  out["at"] = FormatRfc3339(row.at);
  out["sent_at"] = row.sent_at == 0 ? ApiJson(nullptr) : ApiJson(FormatRfc3339(row.sent_at));
  out["created_by"] = row.created_by;
  out["groups"] = row.count;
  ApiJson deliveries = ApiJson::array();
  if (row.status == "sent") {
    // The sends' outbox rows: "<cause>#broadcasts.<id>#<n>" keys, by the key's index.
    std::map<std::string, ApiJson> by_group;
    ActionQuery query{.key_prefix = fmt::format("{}#broadcasts.{}#", row.cause, row.id), .limit = kMaxPageLimit};
    ActionCounts counts;
    for (;;) {
      QZ_ASSIGN_OR_RETURN(const std::vector<OutboxRecord> page, c.store().ListActions(query));
      for (const OutboxRecord& r : page) {
        counts.Add(r.status);
        by_group[r.action.platform + ":" + r.action.group] = {
            {"status", ActionStatusName(r.status)},
            {"attempts", r.attempts},
            {"error", r.last_error.empty() ? ApiJson(nullptr) : ApiJson(r.last_error)},
            {"action", r.id}};
      }
      if (static_cast<int>(page.size()) < query.limit) break;
      query.after_id = page.back().id;
    }
    for (size_t i = 0; i < row.groups.size();) {
      const size_t nl = std::min(row.groups.find('\n', i), row.groups.size());
      const std::string ref = row.groups.substr(i, nl - i);
      i = nl + 1;
      if (ref.empty()) continue;
      ApiJson d = {{"group", ref}};
      const auto it = by_group.find(ref);
      // No outbox row: the platform cannot post, so the send became an operator task.
      if (it == by_group.end()) {
        d["status"] = "task";
      } else {
        d.update(it->second);
      }
      deliveries.push_back(std::move(d));
    }
    out["delivery"] = {{"pending", counts.pending + counts.sending},
                       {"done", counts.done},
                       {"failed", counts.failed},
                       {"possibly_sent", counts.possibly_sent}};
  }
  out["deliveries"] = std::move(deliveries);
  return out;
}

Status Create(Call& c) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  const auto body = ApiJson::parse(c.body(), nullptr, false);
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  ApiJson payload = ApiJson::object();
  int targets = 0;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    const ApiJson& v = it.value();
    if (key == "text") {
      ApiJson text = ApiJson::object();
      if (v.is_string()) {
        text["zh"] = v;
      } else if (v.is_object()) {
        for (auto t = v.begin(); t != v.end(); ++t) {
          if ((t.key() != "zh" && t.key() != "en") || !t.value().is_string()) {
            return Status::Invalid("a string, or an object of zh and en strings", "text." + t.key());
          }
          text[t.key()] = t.value();
        }
      } else {
        return Status::Invalid("a string, or an object of zh and en strings", "text");
      }
      for (auto t = text.begin(); t != text.end(); ++t) {
        if (t.value().get<std::string>().size() > kMaxTextBytes) {
          return Status::Invalid(fmt::format("at most {} bytes", kMaxTextBytes), "text");
        }
      }
      payload["text"] = std::move(text);
    } else if (key == "groups") {
      if (!v.is_array() || v.empty() || v.size() > kMaxGroups) {
        return Status::Invalid(fmt::format("a list of 1 to {} \"platform:id\"", kMaxGroups), "groups");
      }
      for (const ApiJson& g : v) {
        if (!g.is_string() || !ParseGroupRef(g.get<std::string>())) {
          return Status::Invalid("each must be \"platform:id\"", "groups");
        }
      }
      payload["groups"] = v;
      ++targets;
    } else if (key == "group_type") {
      if (!v.is_string() || !ParseGroupType(v.get<std::string>())) return Status::Invalid("not a group type", key);
      payload[key] = v;
      ++targets;
    } else if (key == "tag") {
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 128) {
        return Status::Invalid("a tag of 1 to 128 bytes", key);
      }
      payload[key] = v;
      ++targets;
    } else if (key == "at") {
      if (!v.is_string()) return Status::Invalid("an RFC 3339 time", "at");
      auto at = ParseRfc3339(v.get<std::string>());
      if (!at.ok()) return Status::Invalid(at.status().message(), "at");
      payload["at"] = at->ms;
    } else if (key == "operator") {
      if (!v.is_string() || v.get<std::string>().size() > 128) return Status::Invalid("at most 128 bytes", key);
      payload[key] = v;
    } else {
      return Status::Invalid("unknown field (expected text, groups, group_type, tag, at, operator)", key);
    }
  }
  if (!payload.contains("text") || (payload["text"].value("zh", "").empty() && payload["text"].value("en", "").empty())) {
    return Status::Invalid("required", "text");
  }
  if (targets != 1) return Status::Invalid("give exactly one of groups, group_type, tag", "groups");
  const std::string id = "b" + RandomHex(5);
  payload["id"] = id;
  QZ_RETURN_IF_ERROR(SubmitCommand(c, community.slug, "broadcasts.create", payload.dump()));
  QZ_ASSIGN_OR_RETURN(const BroadcastRow row, Find(c, community, id));
  QZ_ASSIGN_OR_RETURN(ApiJson out, BroadcastJson(c, row));
  c.RespondJson(out, 201);
  return Status::Ok();
}

Status Get(Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  QZ_ASSIGN_OR_RETURN(const BroadcastRow row, Find(c, community, c.Param("id")));
  QZ_ASSIGN_OR_RETURN(ApiJson out, BroadcastJson(c, row));
  c.RespondJson(out);
  return Status::Ok();
}

Status Cancel(Call& c) {
  QZ_ASSIGN_OR_RETURN(const Community community, CommunityOfCall(c));
  QZ_ASSIGN_OR_RETURN(const BroadcastRow row, Find(c, community, c.Param("id")));
  if (row.status != "scheduled") {
    return Status::Invalid(fmt::format("broadcast '{}' is {}, not scheduled", row.id, row.status), "id");
  }
  QZ_RETURN_IF_ERROR(SubmitCommand(c, community.slug, "broadcasts.cancel", ApiJson{{"id", row.id}}.dump()));
  QZ_ASSIGN_OR_RETURN(const BroadcastRow after, Find(c, community, row.id));
  QZ_ASSIGN_OR_RETURN(ApiJson out, BroadcastJson(c, after));
  c.RespondJson(out);
  return Status::Ok();
}

}  // namespace

Status AddBroadcastRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"POST", "/api/v1/broadcasts", Create, RunOn::kBlockingPool}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/broadcasts/{id}", Get, RunOn::kBlockingPool}));
  return table.Add({"POST", "/api/v1/broadcasts/{id}/cancel", Cancel, RunOn::kBlockingPool});
}

}  // namespace qz
