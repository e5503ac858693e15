// qunzhu engine: the ordered set of modules a node runs, built once at start by the one
// registration function in src/app (RegisterModules). It checks what modules declare (unique
// names, playbook sections and valid tables), builds the playbook schema from their sections, and
// keeps each module's default config for communities without a playbook.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// Built single-threaded, then immutable and shared by every thread.
class ModuleRegistry {
 public:
  // Appends `module` (the order is the order of OnEvent calls). kInvalidArgument when its name or
  // a table is malformed, its default config does not parse; kAlreadyExists when its name or
  // section is taken.
  Status Add(std::unique_ptr<Module> module);

  std::span<Module* const> modules() const { return order_; }
  const Module* Find(std::string_view name) const;
  size_t IndexOf(const Module& module) const;  // position in modules()
  const PlaybookSchema& schema() const { return schema_; }
  // The config `module` uses where the community's playbook has none.
  const SectionConfig& DefaultConfig(size_t index) const { return *entries_[index].defaults; }
  // The config of the module at `index` under `playbook`: its section there, else the default.
  std::shared_ptr<const SectionConfig> ConfigFor(size_t index, const Playbook& playbook) const;
  // The declaration of "<module>.<table>", or null.
  const TableInfo* FindTable(std::string_view module, std::string_view table) const;
  // Whether the qualified table "<module>.<table>" is declared cold (RowLife::kCold).
  bool IsCold(std::string_view qualified) const;
  // A table the module at `index` declares, by its unqualified name: its qualified name
  // "<module>.<table>" and where its rows live. Null when not declared. Valid as long as the
  // registry.
  struct DeclaredTable {
    std::string qualified;
    RowLife life = RowLife::kStored;
  };
  const DeclaredTable* Declared(size_t index, std::string_view table) const;

 private:
  struct Entry {
    std::unique_ptr<Module> module;
    std::shared_ptr<const SectionConfig> defaults;
    std::vector<TableInfo> tables;
    std::vector<DeclaredTable> declared;  // by table
  };
  std::vector<Entry> entries_;
  std::vector<Module*> order_;
  PlaybookSchema schema_;
};

// What the modules prepared for one event (Module::Prepare), by module index, each with the
// config it was prepared against (kept alive, so a replaced config is never mistaken for the
// one in force). Empty: nothing was prepared.
struct PreparedEntry {
  std::shared_ptr<const SectionConfig> config;
  std::shared_ptr<const Prepared> value;
};
using PreparedEvent = std::vector<PreparedEntry>;

// Runs every module's Prepare over `event` against the playbook of the community it will most
// likely land in: the event's own community, else the one whose playbook names its group, else
// the default one (a wrong guess only costs the writer the work). Any thread.
PreparedEvent PrepareEvent(const ModuleRegistry& modules, const PlaybookSet& playbooks,
                           const Event& event);

// Parses a playbook with every section of `modules` (the validation the server runs).
Result<Playbook> ParsePlaybook(std::string_view toml, std::string_view source,
                               const ModuleRegistry& modules);

}  // namespace qz
