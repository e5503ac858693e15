// qunzhu engine: the module seam. A module (moderation, automation, growth, insight…) owns one
// folder: its playbook section (typed, validated by itself), its typed state tables, its event
// handling and its routes. It sees each new event through a narrow context and emits actions,
// derived events and state changes; it never touches storage, sockets or platform APIs, so it
// runs the same on virtual time in tests and again in `replay`. docs/extending.md shows one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/module_state.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "playbook/playbook.hpp"
#include "playbook/section.hpp"

namespace qz {

class State;
class Module;

// What a module computed for one event ahead of the writer (Module::Prepare): derive from it.
class Prepared {
 public:
  virtual ~Prepared() = default;
};

// Handed to Module::OnEvent for one event; valid only during that call. Writer thread only.
// What a module emits through it (actions, derived events, state writes) takes effect only if
// OnEvent returns ok: a module that fails or throws leaves no trace of that event.
class ModuleContext {
 public:
  virtual ~ModuleContext() = default;

  // The event, after its own effect on the core state was applied.
  virtual const Event& event() const = 0;
  virtual const Community& community() const = 0;
  virtual const Group* group() const = 0;            // null when the event names no group
  virtual const Member* member() const = 0;          // null for a system event without one
  virtual const Membership* membership() const = 0;  // null without a group or member
  virtual const State& state() const = 0;            // everything else, read-only
  // For a message: when this member last posted in this group before it (0: never); the
  // membership above already counts this message.
  virtual TimeMs previous_message_time() const = 0;
  // The community's playbook (an empty one when it has none); see config() for the module's own.
  virtual const Playbook& playbook() const = 0;
  // What this module's Prepare computed for this event against the config in force (computed
  // now, on the writer, when the submitting thread did not or used a config since replaced);
  // null when Prepare returns null. T is the type the module's Prepare returns.
  template <typename T>
  const T* prepared() const {
    return static_cast<const T*>(RawPrepared());
  }
  // The engine's clock (virtual time in tests). Replay gives the event's time: state a module
  // writes must follow from the events, the playbook and the state, never from the clock.
  virtual TimeMs now() const = 0;
  // True when a module earlier in the order deleted this message; later modules should not
  // react to it (a deleted ad must not earn points or an auto-reply).
  virtual bool message_deleted() const = 0;
  // For a timer event: the timer's key as this module scheduled it (the engine keys timers
  // "<module>:<key>" and shows a timer event only to the module that owns it); else empty.
  virtual std::string_view timer() const = 0;

  // Emits an action. The engine fills in its cause (this event) and rule ("<module>" or
  // "<module>.<rule>"), its community, and for platform actions missing them the event's
  // platform and group. Platform actions go to the outbox in this event's transaction (or
  // become an operator task when the platform cannot perform them); engine actions apply here.
  // A schedule_timer's key is namespaced by the engine (see timer()).
  virtual void Act(Action action, std::string_view rule = {}) = 0;
  // Emits a derived event (e.g. points_changed). It gets an id derived from this event's, is
  // appended to the log after this event, applied, and shown to the modules in turn.
  virtual void Derive(Event event) = 0;

  // This module's config: the section it parsed from the community's playbook, or its defaults
  // when the community has no playbook. T is the type the module's ParseSection returns.
  template <typename T>
  const T& config() const {
    return static_cast<const T&>(RawConfig());
  }

  // Typed state of this module in this community (tables declared by Module::tables()).
  // Find: the row whose key fields equal those of `key`, as last written (by this event too).
  template <typename Row>
  std::optional<Row> Find(const Row& key) const {
    // Fields() takes a mutable row so one visitor serves reading and writing; the key's fields
    // are only read here.
    const auto probe_fields = CollectFields(const_cast<Row&>(key));
    const std::string* stored = FindRow(Row::kTable, EncodeKey(probe_fields));
    if (stored == nullptr) return std::nullopt;
    Row row{};
    const auto fields = CollectFields(row);
    CopyKeyFields(probe_fields, fields);
    DecodeValues(*stored, fields);
    return row;
  }
  template <typename Row>
  void Put(const Row& row) {
    const auto fields = CollectFields(const_cast<Row&>(row));  // only read, as in Find
    PutRow(Row::kTable, EncodeKey(fields), EncodeValues(fields));
  }
  template <typename Row>
  void Erase(const Row& key) {
    PutRow(Row::kTable, RowKey(key), {});
  }

 protected:
  virtual const SectionConfig& RawConfig() const = 0;
  virtual const Prepared* RawPrepared() const = 0;
  // The stored value (JSON object text) of a row of this module's `table`, or null.
  virtual const std::string* FindRow(std::string_view table, std::string_view key) const = 0;
  // Writes a row; an empty value deletes it. A table the module did not declare fails the
  // module's handling of this event.
  virtual void PutRow(std::string_view table, std::string key, std::string value) = 0;
};

// A timer a module keeps while its config asks for it (e.g. a scheduled post). The engine
// reconciles them whenever a playbook is applied: a new one is created, an unchanged one keeps
// its pending firing, a changed one is rescheduled, one no longer asked for is finished.
struct StandingTimer {
  std::string name;     // unique within the module; [A-Za-z0-9_.-]
  // A recurrence (engine/recurrence.hpp) in the community's time zone; empty: once, as soon as
  // a playbook asks for it with this payload (set a group's announcement when its text
  // changes). Such a timer may fire again after a restart re-applies the playbook: the module
  // compares with its rows and does nothing the second time.
  std::string rule;
  std::string payload;  // JSON object text or empty, handed back in the timer event
};

// Implementations are created once at start (src/app registers the ordered list) and called only
// from the writer thread (ParseSection: any thread); they keep no mutable state of their own:
// what must last goes into their tables.
class Module {
 public:
  virtual ~Module() = default;
  // Stable: qualifies the module's tables, prefixes its rules and timers. [a-z0-9_]{1,32}.
  virtual std::string_view name() const = 0;

  // The playbook root key this module owns ("" for none) and its parser: `node` is the
  // section (null when absent: return the defaults), `common` the playbook's common part.
  // Report problems with their key path and line; never return null.
  virtual std::string_view section() const { return {}; }
  virtual std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node,
                                                            const Playbook& common,
                                                            ConfigProblems& problems) const;

  // The tables this module keeps (DescribeTable<Row>() for each row type).
  virtual std::vector<TableInfo> tables() const { return {}; }
  // The timers this module keeps for `playbook` (its config is playbook.Section<...>(section())).
  virtual std::vector<StandingTimer> StandingTimers(const Playbook& playbook) const {
    (void)playbook;
    return {};
  }

  // Optional work on a new event that depends only on the event and this module's `config`
  // (normalising and matching a message's text, say). The engine runs it before the single
  // writer, on the thread that submitted the event, so that per-event CPU work does not limit
  // ingest; OnEvent reads the result with ctx.prepared<T>(). The writer runs it itself when
  // nothing was prepared (replay, derived and timer events) or the config has changed since.
  // Must be pure: the same event and config always give the same result. Any thread.
  virtual std::shared_ptr<const Prepared> Prepare(const Event& event,
                                                  const SectionConfig& config) const {
    (void)event;
    (void)config;
    return nullptr;
  }

  // Handles one new event. An error (or an exception) fails this module's handling of this
  // event only: its emissions are dropped, the event still commits, and the failure is logged,
  // counted and opens an operator task.
  virtual Status OnEvent(ModuleContext& ctx) = 0;
};

}  // namespace qz
