#include "engine/module_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <exception>
#include <vector>

namespace qz {

std::string_view TimerOwner(std::string_view timer_key) {
  const size_t colon = timer_key.find(':');
  return colon == std::string_view::npos ? std::string_view() : timer_key.substr(0, colon);
}

class ModuleRunner::Context final : public ModuleContext {
 public:
  Context(const ModuleRegistry& registry, State& state, ReadModel* stored, const PlaybookSet& playbooks,
          const Event& event, const EventRefs& refs, TimeMs now, const PreparedEvent* prepared,
          std::atomic<int64_t>& prepared_on_writer)
      : registry_(registry),
        state_(state),
        stored_(stored),
        event_(event),
        refs_(refs),
        now_(now),
        community_(*state.FindCommunity(refs.community)),
        playbook_(playbooks.For(community_.slug)),
        prepared_(prepared),
        prepared_on_writer_(prepared_on_writer) {}

  // Starts staging for the module at `index`.
  void Enter(size_t index) {
    index_ = index;
    module_ = registry_.modules()[index];
    staged_actions_.clear();
    staged_derived_.clear();
    staged_rows_.clear();
    staged_delete_ = false;
    error_.clear();
    computed_.reset();
    computed_valid_ = false;
    config_ = nullptr;
  }
  // Keeps what the current module staged.
  void Keep(ModuleEmissions& out) {
    if (staged_delete_) deleted_ = true;
    for (Action& a : staged_actions_) out.actions.push_back(std::move(a));
    for (Event& e : staged_derived_) out.derived.push_back({std::move(e), std::string(module_->name())});
    for (StagedRow& row : staged_rows_) {
      state_.PutModuleState(refs_.community, row.table->qualified, row.key, std::move(row.value),
                            row.table->life);
    }
  }
  // Set when the module broke a rule of the context (e.g. wrote an undeclared table).
  const std::string& error() const { return error_; }

  const Event& event() const override { return event_; }
  const Community& community() const override { return community_; }
  const Group* group() const override { return state_.FindGroup(refs_.group); }
  const Member* member() const override { return state_.FindMember(refs_.member); }
  const Membership* membership() const override {
    return state_.FindMembership(refs_.group, refs_.member);
  }
  const State& state() const override { return state_; }
  TimeMs previous_message_time() const override { return refs_.previous_message; }
  const Playbook& playbook() const override { return playbook_; }
  TimeMs now() const override { return now_; }
  bool message_deleted() const override { return deleted_; }
  std::string_view timer() const override {
    if (event_.type != EventType::kTimer) return {};
    return std::string_view(event_.timer).substr(module_->name().size() + 1);
  }

  void Act(Action action, std::string_view rule) override {
    if (action.type == ActionType::kDeleteMessage &&
        (action.reply_to.empty() || action.reply_to == event_.id)) {
      staged_delete_ = true;
    }
    action.rule = std::string(module_->name());
    if (!rule.empty()) {
      action.rule += '.';
      action.rule += rule;
    }
    if (action.type == ActionType::kScheduleTimer) {
      if (action.timer.empty() || action.timer.starts_with("playbook:")) {
        error_ = fmt::format("timer key '{}' is empty or reserved (playbook:…)", action.timer);
        return;
      }
      action.timer = fmt::format("{}:{}", module_->name(), action.timer);
    }
    staged_actions_.push_back(std::move(action));
  }
  void Derive(Event event) override { staged_derived_.push_back(std::move(event)); }

 protected:
  const SectionConfig& RawConfig() const override {
    // Looked up once per module and event: a module asks for its config (and its prepared
    // value, which checks the config) several times per event, on the writer.
    if (config_ == nullptr) {
      config_ = playbook_.Section<SectionConfig>(module_->section());
      if (config_ == nullptr) config_ = &registry_.DefaultConfig(index_);
    }
    return *config_;
  }
  const Prepared* RawPrepared() const override {
    const SectionConfig& config = RawConfig();
    if (prepared_ != nullptr && index_ < prepared_->size()) {
      const PreparedEntry& entry = (*prepared_)[index_];
      if (entry.config.get() == &config) return entry.value.get();
    }
    if (!computed_valid_) {
      computed_ = module_->Prepare(event_, config);
      computed_valid_ = true;
      if (computed_ != nullptr) prepared_on_writer_.fetch_add(1, std::memory_order_relaxed);
    }
    return computed_.get();
  }
  const std::string* FindRow(std::string_view table, std::string_view key) const override {
    const auto* declared = registry_.Declared(index_, table);
    if (declared == nullptr) return nullptr;  // an undeclared table holds nothing
    if (const StagedRow* row = Staged(declared, key)) return row->value.empty() ? nullptr : &row->value;
    if (declared->life == RowLife::kCold) {
      if (const std::string* row = state_.FindColdRow(refs_.community, declared->qualified, key)) {
        return row->empty() ? nullptr : row;
      }
    }
    if (const std::string* row = state_.FindModuleState(refs_.community, declared->qualified, key)) return row;
    if (declared->life != RowLife::kCold || stored_ == nullptr) return nullptr;
    // Flushed and dropped from memory: the store has it (committed, since the writer flushes
    // and commits together).
    auto read = stored_->GetModuleState(refs_.community, declared->qualified, key);
    if (!read.ok()) {
      // Not "no such row": the module must not act as if it had none.
      error_ = fmt::format("reading {} {} from the store: {}", declared->qualified, key, read.status().message());
      return nullptr;
    }
    if (!*read) return nullptr;
    cold_reads_.push_back(std::move((*read)->value));
    return &cold_reads_.back();
  }
  void PutRow(std::string_view table, std::string key, std::string value) override {
    const auto* declared = registry_.Declared(index_, table);
    if (declared == nullptr) {
      error_ = fmt::format("wrote to table '{}', which the module does not declare", table);
      return;
    }
    if (StagedRow* row = Staged(declared, key)) {
      row->value = std::move(value);
    } else {
      staged_rows_.push_back({declared, std::move(key), std::move(value)});
    }
  }

 private:
  // A row the current module wrote while handling this event: a handful at most, so a list.
  struct StagedRow {
    const ModuleRegistry::DeclaredTable* table;  // owned by the registry
    std::string key;
    std::string value;  // empty: erased
  };
  StagedRow* Staged(const ModuleRegistry::DeclaredTable* table, std::string_view key) {
    for (StagedRow& row : staged_rows_) {
      if (row.table == table && row.key == key) return &row;
    }
    return nullptr;
  }
  const StagedRow* Staged(const ModuleRegistry::DeclaredTable* table, std::string_view key) const {
    return const_cast<Context*>(this)->Staged(table, key);
  }

  const ModuleRegistry& registry_;
  State& state_;
  ReadModel* stored_;
  const Event& event_;
  const EventRefs& refs_;
  const TimeMs now_;
  const Community& community_;
  const Playbook& playbook_;
  const PreparedEvent* prepared_;
  std::atomic<int64_t>& prepared_on_writer_;
  // The current module's preparation when the writer had to compute it.
  mutable std::shared_ptr<const Prepared> computed_;
  mutable bool computed_valid_ = false;
  mutable const SectionConfig* config_ = nullptr;  // the current module's, once looked up
  size_t index_ = 0;
  const Module* module_ = nullptr;
  bool deleted_ = false;
  // The current module's emissions until it returns.
  std::vector<Action> staged_actions_;
  std::vector<Event> staged_derived_;
  std::vector<StagedRow> staged_rows_;
  bool staged_delete_ = false;
  // Set by a const look-up too (a failed store read).
  mutable std::string error_;
  // Rows read from the store for this event; a deque, so the values FindRow returned stay put.
  mutable std::deque<std::string> cold_reads_;
};

ModuleEmissions ModuleRunner::Run(State& state, const PlaybookSet& playbooks, const Event& event,
                                  const EventRefs& refs, TimeMs now,
                                  const PreparedEvent* prepared) {
  ModuleEmissions out;
  Context ctx(registry_, state, stored_, playbooks, event, refs,
              mode_ == ModuleMode::kReplay ? event.time : now, prepared, prepared_on_writer_);
  // A timer event goes only to the module that owns its key, a command only to the module it
  // names ("<module>.<verb>").
  std::string_view owner;
  if (event.type == EventType::kTimer) owner = TimerOwner(event.timer);
  // A view of the event's own string: substr on the std::string would dangle.
  if (event.type == EventType::kCommand) {
    const std::string_view command = event.command;
    owner = command.substr(0, command.find('.'));
  }
  const bool addressed = event.type == EventType::kTimer || event.type == EventType::kCommand;
  const auto modules = registry_.modules();
  for (size_t i = 0; i < modules.size(); ++i) {
    Module& m = *modules[i];
    if (addressed && m.name() != owner) continue;
    ctx.Enter(i);
    Status status;
    try {
      status = m.OnEvent(ctx);
    } catch (const std::exception& e) {
      status = Status::Internal(fmt::format("threw: {}", e.what()));
    } catch (...) {
      status = Status::Internal("threw a non-standard exception");
    }
    if (status.ok() && !ctx.error().empty()) status = Status::Internal(ctx.error());
    if (status.ok()) {
      ctx.Keep(out);
      continue;
    }
    if (metrics_ != nullptr) metrics_->failures(i).fetch_add(1, std::memory_order_relaxed);
    spdlog::error("module {} failed on event {}:{} (its effects on this event are dropped): {}",
                  m.name(), event.platform, event.id, status.message());
    out.failures.push_back({std::string(m.name()), status.message()});
  }
  return out;
}

}  // namespace qz
