// The modules a node runs and their state: what the console shows of module tables (streaks,
// strikes, balances…), generically, from the declarations the modules registered.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "engine/module_registry.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

Result<const ModuleRegistry*> Modules(const Call& c) {
  if (c.services().modules == nullptr) return Status::Unavailable("this server runs no modules");
  return c.services().modules;
}

// A stored row as one object: the key fields (from the JSON array, named by the declaration)
// then the values. A row that does not match its declaration is shown as stored.
ApiJson RowJson(const TableInfo& table, const ModuleStateEntry& row) {
  ApiJson out = ApiJson::object();
  const auto key = ApiJson::parse(row.key, nullptr, /*allow_exceptions=*/false);
  const auto values = ApiJson::parse(row.value, nullptr, /*allow_exceptions=*/false);
  size_t i = 0;
  for (const FieldInfo& f : table.fields) {
    if (!f.key) continue;
    if (key.is_array() && i < key.size()) out[f.name] = key[i];
    ++i;
  }
  if (!key.is_array() || i != key.size()) out["_key"] = row.key;
  if (values.is_object()) {
    for (const FieldInfo& f : table.fields) {
      if (f.key) continue;
      auto it = values.find(f.name);
      out[f.name] = it == values.end() ? ApiJson(nullptr) : *it;
    }
  } else {
    out["_value"] = row.value;
  }
  return out;
}

// GET /api/v1/modules: every module in order, with its playbook section and tables.
Status GetModules(Call& c) {
  QZ_ASSIGN_OR_RETURN(const ModuleRegistry* modules, Modules(c));
  ApiJson list = ApiJson::array();
  for (const Module* m : modules->modules()) {
    ApiJson tables = ApiJson::array();
    for (const TableInfo& t : m->tables()) {
      ApiJson fields = ApiJson::array();
      for (const FieldInfo& f : t.fields) {
        fields.push_back({{"name", f.name}, {"type", FieldTypeName(f.type)}, {"key", f.key}});
      }
      // An ephemeral table lives in the writer's memory only: the API never shows rows of it.
      tables.push_back({{"name", t.name}, {"fields", std::move(fields)}, {"ephemeral", t.ephemeral}});
    }
    list.push_back({{"name", m->name()},
                    {"section", m->section().empty() ? ApiJson(nullptr) : ApiJson(m->section())},
                    {"tables", std::move(tables)}});
  }
  c.RespondJson({{"modules", std::move(list)}});
  return Status::Ok();
}

// GET /api/v1/communities/{slug}/state/{module}/{table}?after=&limit=: the community's rows of
// one module table, ascending by stored key; `after` is the previous page's next_cursor.
Status GetModuleState(Call& c) {
  QZ_ASSIGN_OR_RETURN(const ModuleRegistry* modules, Modules(c));
  const TableInfo* table = modules->FindTable(c.Param("module"), c.Param("table"));
  if (table == nullptr) {
    return Status::NotFound(
        fmt::format("no table '{}' of module '{}'", c.Param("table"), c.Param("module")));
  }
  QZ_ASSIGN_OR_RETURN(const PageRequest page, c.query().Page("page"));
  const std::string* after = c.query().Get("after");
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  std::optional<CommunityId> community;
  for (const Community& x : communities) {
    if (x.slug == c.Param("slug")) community = x.id;
  }
  if (!community) return Status::NotFound(fmt::format("no community '{}'", c.Param("slug")));
  const std::string qualified = fmt::format("{}.{}", c.Param("module"), c.Param("table"));
  QZ_ASSIGN_OR_RETURN(
      const std::vector<ModuleStateEntry> rows,
      c.store().ListModuleState(*community, qualified, after ? *after : "", page.limit));
  ApiJson out = ApiJson::array();
  for (const ModuleStateEntry& row : rows) out.push_back(RowJson(*table, row));
  const bool full = static_cast<int>(rows.size()) == page.limit;
  c.RespondJson({{"module", c.Param("module")},
                 {"table", c.Param("table")},
                 {"rows", std::move(out)},
                 {"next_cursor", full ? ApiJson(rows.back().key) : ApiJson(nullptr)}});
  return Status::Ok();
}

}  // namespace

Status AddModuleRoutes(RouteTable& table) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/modules", GetModules, RunOn::kIoThread}));
  return table.Add({"GET", "/api/v1/communities/{slug}/state/{module}/{table}", GetModuleState,
                    RunOn::kBlockingPool});
}

}  // namespace qz
