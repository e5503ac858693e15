// qunzhu testing: a ModuleContext for a module's unit tests, without a store or a writer. Set the
// event (and what it refers to), the playbook and the module's config; call the module's
// OnEvent; then read what it emitted (actions with their rules, derived events, table rows).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/module.hpp"
#include "engine/state.hpp"

namespace qz::testing {

class FakeModuleContext final : public ModuleContext {
 public:
  // `module` names the rules and tables; it must outlive the context.
  explicit FakeModuleContext(const Module& module);

  // Parses `toml` as a whole playbook with `module`'s section registered and uses it (and the
  // module's config from it). Returns the parse status (the test should assert it).
  Status UsePlaybook(std::string_view toml);
  // The error of a playbook made of a community "c" with the group sandbox:g, then `sections`:
  // for tests of a section's validation (an empty string, and a test failure, when it parses).
  static std::string PlaybookError(const Module& module, std::string_view sections);

  // The event and the entities it refers to (a member/group/community is added to the fake's
  // State when set).
  Event& mutable_event() { return event_; }
  void SetMember(std::string_view external_id, std::string_view name);
  void SetGroup(std::string_view external_id, GroupType type = GroupType::kUnspecified);
  void SetNow(TimeMs now) { now_ = now; }
  void SetMessageDeleted(bool deleted) { deleted_ = deleted; }
  void SetPreviousMessageTime(TimeMs t) { previous_message_ = t; }

  // Emissions since the last Clear().
  struct Emitted {
    Action action;
    std::string rule;  // "<module>[.<rule>]"
  };
  const std::vector<Emitted>& actions() const { return actions_; }
  const std::vector<Event>& derived() const { return derived_; }
  // Stored rows by (table, key): the state as the module would leave it.
  const std::map<std::pair<std::string, std::string>, std::string>& rows() const { return rows_; }
  void Clear();

  // Runs the module on the current event, the way the engine does (a timer event only when the
  // module owns the key "<module>:<key>").
  Status Run(Module& module);

  const Event& event() const override { return event_; }
  const Community& community() const override { return community_; }
  const Group* group() const override { return group_.id == kNoId ? nullptr : &group_; }
  const Member* member() const override { return state_.FindMember(member_id_); }
  const Membership* membership() const override { return nullptr; }
  const State& state() const override { return state_; }
  TimeMs previous_message_time() const override { return previous_message_; }
  const Playbook& playbook() const override { return playbook_; }
  TimeMs now() const override { return now_ != 0 ? now_ : event_.time; }
  bool message_deleted() const override { return deleted_; }
  std::string_view timer() const override;
  void Act(Action action, std::string_view rule) override;
  void Derive(Event event) override { derived_.push_back(std::move(event)); }

 protected:
  const SectionConfig& RawConfig() const override { return *config_; }
  // The module's Prepare, run here on each call (the engine does it ahead of the writer).
  const Prepared* RawPrepared() const override;
  const std::string* FindRow(std::string_view table, std::string_view key) const override;
  void PutRow(std::string_view table, std::string key, std::string value) override;

 private:
  const Module& module_;
  Event event_;
  Community community_;
  Group group_;
  State state_;
  MemberId member_id_ = kNoId;
  Playbook playbook_;
  std::shared_ptr<const SectionConfig> config_;
  TimeMs now_ = 0;
  bool deleted_ = false;
  TimeMs previous_message_ = 0;
  mutable std::shared_ptr<const Prepared> prepared_;
  std::vector<Emitted> actions_;
  std::vector<Event> derived_;
  std::map<std::pair<std::string, std::string>, std::string> rows_;
};

}  // namespace qz::testing
