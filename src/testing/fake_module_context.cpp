#include "testing/fake_module_context.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "engine/module_registry.hpp"

namespace qz::testing {

FakeModuleContext::FakeModuleContext(const Module& module) : module_(module) {
  community_.id = 1;
  community_.slug = "test";
  community_.name = "test";
  state_.AddCommunity(community_);
  ConfigProblems problems("defaults");
  config_ = module.ParseSection(nullptr, playbook_, problems);
  event_.platform = "sandbox";
  event_.time = 1767225600000;  // 2026-01-01T00:00:00Z
}

Status FakeModuleContext::UsePlaybook(std::string_view toml) {
  PlaybookSchema schema;
  if (!module_.section().empty()) {
    QZ_RETURN_IF_ERROR(schema.Add(PlaybookSection{
        std::string(module_.section()),
        [this](const toml::node* node, const Playbook& common, ConfigProblems& p) {
          return module_.ParseSection(node, common, p);
        }}));
  }
  auto pb = ParsePlaybook(toml, "test.toml", schema);
  if (!pb.ok()) return pb.status();
  playbook_ = std::move(*pb);
  if (auto it = playbook_.sections.find(module_.section()); it != playbook_.sections.end()) {
    config_ = it->second;
  }
  return Status::Ok();
}

void FakeModuleContext::SetMember(std::string_view external_id, std::string_view name) {
  Member m;
  m.community_id = community_.id;
  m.display_name = std::string(name);
  member_id_ = state_.AddMember(std::move(m)).id;
  event_.member = std::string(external_id);
  event_.name = std::string(name);
}

void FakeModuleContext::SetGroup(std::string_view external_id, GroupType type) {
  Group g;
  g.community_id = community_.id;
  g.platform = event_.platform;
  g.external_id = std::string(external_id);
  g.name = g.external_id;
  g.type = type;
  group_ = state_.AddGroup(std::move(g));
  event_.group = std::string(external_id);
}

void FakeModuleContext::Clear() {
  actions_.clear();
  derived_.clear();
}

Status FakeModuleContext::Run(Module& module) {
  if (event_.type == EventType::kTimer && !event_.timer.starts_with(fmt::format("{}:", module.name()))) {
    return Status::Ok();
  }
  if (event_.type == EventType::kCommand && !event_.command.starts_with(fmt::format("{}.", module.name()))) {
    return Status::Ok();
  }
  return module.OnEvent(*this);
}

const Prepared* FakeModuleContext::RawPrepared() const {
  prepared_ = module_.Prepare(event_, *config_);
  return prepared_.get();
}

std::string_view FakeModuleContext::timer() const {
  if (event_.type != EventType::kTimer) return {};
  return std::string_view(event_.timer).substr(module_.name().size() + 1);
}

void FakeModuleContext::Act(Action action, std::string_view rule) {
  std::string full(module_.name());
  if (!rule.empty()) full += fmt::format(".{}", rule);
  actions_.push_back({std::move(action), std::move(full)});
}

const std::string* FakeModuleContext::FindRow(std::string_view table, std::string_view key) const {
  auto it = rows_.find({std::string(table), std::string(key)});
  return it == rows_.end() ? nullptr : &it->second;
}

void FakeModuleContext::PutRow(std::string_view table, std::string key, std::string value) {
  bool declared = false;
  for (const TableInfo& t : module_.tables()) declared = declared || t.name == table;
  if (!declared) {
    throw std::logic_error(fmt::format("module {} wrote undeclared table {}", module_.name(), table));
  }
  if (value.empty()) {
    rows_.erase({std::string(table), key});
  } else {
    rows_[{std::string(table), std::move(key)}] = std::move(value);
  }
}

std::string FakeModuleContext::PlaybookError(const Module& module, std::string_view sections) {
  FakeModuleContext ctx(module);
  const Status st = ctx.UsePlaybook("[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\nid = \"g\"\n" +
                                    std::string(sections));
  EXPECT_FALSE(st.ok()) << sections;
  return st.message();
}

}  // namespace qz::testing
