#include "engine/module_registry.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qz {
namespace {

bool IsModuleName(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::shared_ptr<const SectionConfig> Module::ParseSection(const toml::node* node,
                                                          const Playbook& common,
                                                          ConfigProblems& problems) const {
  (void)node;
  (void)common;
  (void)problems;
  static const auto kNone = std::make_shared<const SectionConfig>();
  return kNone;
}

Status ModuleRegistry::Add(std::unique_ptr<Module> module) {
  const std::string name(module->name());
  if (!IsModuleName(name)) {
    return Status::Invalid(fmt::format("module name '{}' must be 1 to 32 of a-z 0-9 _", name));
  }
  if (Find(name) != nullptr) {
    return Status(Code::kAlreadyExists, fmt::format("module '{}' is registered twice", name));
  }
  Entry entry;
  entry.tables = module->tables();
  for (const TableInfo& t : entry.tables) {
    if (Status st = ValidateTable(t); !st.ok()) {
      return Status::Invalid(fmt::format("module '{}': {}", name, st.message()));
    }
    if (std::count_if(entry.tables.begin(), entry.tables.end(),
                      [&](const TableInfo& o) { return o.name == t.name; }) > 1) {
      return Status::Invalid(fmt::format("module '{}' declares table '{}' twice", name, t.name));
    }
  }
  ConfigProblems problems("defaults of module " + name);
  entry.defaults = module->ParseSection(nullptr, Playbook{}, problems);
  if (!problems.empty() || entry.defaults == nullptr) {
    return Status::Invalid(fmt::format("module '{}' has no valid default config: {}", name,
                                       problems.ToStatus().message()));
  }
  if (!module->section().empty()) {
    const Module* m = module.get();
    QZ_RETURN_IF_ERROR(schema_.Add(PlaybookSection{
        std::string(module->section()),
        [m](const toml::node* node, const Playbook& common, ConfigProblems& p) {
          return m->ParseSection(node, common, p);
        }}));
  }
  for (const TableInfo& t : entry.tables) {
    entry.declared.push_back({fmt::format("{}.{}", name, t.name), t.life()});
  }
  entry.module = std::move(module);
  order_.push_back(entry.module.get());
  entries_.push_back(std::move(entry));
  return Status::Ok();
}

const Module* ModuleRegistry::Find(std::string_view name) const {
  for (const Module* m : order_) {
    if (m->name() == name) return m;
  }
  return nullptr;
}

size_t ModuleRegistry::IndexOf(const Module& module) const {
  return static_cast<size_t>(std::find(order_.begin(), order_.end(), &module) - order_.begin());
}

const TableInfo* ModuleRegistry::FindTable(std::string_view module, std::string_view table) const {
  for (const Entry& e : entries_) {
    if (e.module->name() != module) continue;
    for (const TableInfo& t : e.tables) {
      if (t.name == table) return &t;
    }
  }
  return nullptr;
}

bool ModuleRegistry::IsCold(std::string_view qualified) const {
  const size_t dot = qualified.find('.');
  if (dot == std::string_view::npos) return false;
  const TableInfo* t = FindTable(qualified.substr(0, dot), qualified.substr(dot + 1));
  return t != nullptr && t->cold;
}

const ModuleRegistry::DeclaredTable* ModuleRegistry::Declared(size_t index,
                                                              std::string_view table) const {
  const Entry& entry = entries_[index];
  for (size_t i = 0; i < entry.tables.size(); ++i) {
    if (entry.tables[i].name == table) return &entry.declared[i];
  }
  return nullptr;
}

std::shared_ptr<const SectionConfig> ModuleRegistry::ConfigFor(size_t index,
                                                               const Playbook& playbook) const {
  const Entry& entry = entries_[index];
  if (!entry.module->section().empty()) {
    auto it = playbook.sections.find(entry.module->section());
    if (it != playbook.sections.end() && it->second != nullptr) return it->second;
  }
  return entry.defaults;
}

PreparedEvent PrepareEvent(const ModuleRegistry& modules, const PlaybookSet& playbooks,
                           const Event& event) {
  std::string_view slug = event.community;
  if (slug.empty() && !event.group.empty()) {
    for (const auto& [community, playbook] : playbooks.all()) {
      if (playbook->FindGroup(event.platform, event.group) != nullptr) {
        slug = community;
        break;
      }
    }
  }
  if (slug.empty()) slug = kDefaultCommunity;
  const Playbook& playbook = playbooks.For(slug);
  PreparedEvent out;
  const auto order = modules.modules();
  for (size_t i = 0; i < order.size(); ++i) {
    auto config = modules.ConfigFor(i, playbook);
    auto value = order[i]->Prepare(event, *config);
    if (value == nullptr) continue;
    out.resize(order.size());
    out[i] = PreparedEntry{std::move(config), std::move(value)};
  }
  return out;
}

Result<Playbook> ParsePlaybook(std::string_view toml, std::string_view source,
                               const ModuleRegistry& modules) {
  return ParsePlaybook(toml, source, modules.schema());
}

}  // namespace qz
