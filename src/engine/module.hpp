// qunzhu engine: the module seam. A module (moderation, automation, growth, insight…) sees each
// new event with a read-only context and emits actions and derived events. Modules never touch
// storage, sockets or platform APIs, so they run the same on virtual time in tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "playbook/playbook.hpp"

namespace qz {

class State;

// Handed to Module::OnEvent for one event; valid only during that call. Writer thread only.
class ModuleContext {
 public:
  virtual ~ModuleContext() = default;

  // The event, after its own effect on the state was applied.
  virtual const Event& event() const = 0;
  virtual const Community& community() const = 0;
  virtual const Group* group() const = 0;            // null when the event names no group
  virtual const Member* member() const = 0;          // null for a system event without one
  virtual const Membership* membership() const = 0;  // null without a group or member
  virtual const State& state() const = 0;            // everything else, read-only
  // The community's playbook; a default (empty, everything disabled) one when it has none.
  virtual const Playbook& playbook() const = 0;
  virtual TimeMs now() const = 0;  // the engine's clock (virtual time in tests)
  // True when a module earlier in the order deleted this message; later modules should not
  // react to it (a deleted ad must not earn points or an auto-reply).
  virtual bool message_deleted() const = 0;

  // Emits an action. The engine fills in its cause (this event) and rule ("<module>" or
  // "<module>.<rule>"), its community, and for platform actions missing them the event's
  // platform and group. Platform actions go to the outbox in this event's transaction (or
  // become an operator task when the platform cannot perform them); engine actions apply here.
  virtual void Act(Action action, std::string_view rule = {}) = 0;
  // Emits a derived event (e.g. points_changed). It gets an id derived from this event's, is
  // appended to the log after this event, applied, and shown to the modules in turn.
  virtual void Derive(Event event) = 0;

  // This module's durable working state in this community (written with this event).
  virtual std::optional<std::string> Get(std::string_view key) const = 0;
  virtual void Put(std::string_view key, std::string value) = 0;  // empty value deletes
};

// Implementations are created once at start (src/app wires the ordered list) and called only
// from the writer thread; they keep no mutable state of their own beyond what Put stores.
class Module {
 public:
  virtual ~Module() = default;
  // Stable: keys the module's state and prefixes its actions' rules.
  virtual std::string_view name() const = 0;
  virtual void OnEvent(ModuleContext& ctx) = 0;
};

}  // namespace qz
