// qunzhu store: the seam between the engine and durable storage. Owns the event log, the
// materialised entities, the outbox, timers, module state, playbooks and API tokens. It is
// split into sub-seams, one header each, so a back end or a fake implements only what it serves
// and a component takes only what it uses:
//   event_log.hpp     EventLog + StoreTxn: the writer's transactions, LoadState, the log
//   outbox_store.hpp  OutboxStore: outbox and operator-task reads (delivery, API)
//   timer_store.hpp   TimerStore: timer reads and the scheduler's due updates
//   admin_store.hpp   AdminStore: API tokens and playbooks
//   read_model.hpp    ReadModel: what the API reads (entities, member events, module state)
// Each sub-seam has its conformance suite (<seam>_conformance.cpp, factory in
// store_conformance.hpp) that every back end serving it must pass.
#pragma once

#include "store/admin_store.hpp"
#include "store/event_log.hpp"
#include "store/outbox_store.hpp"
#include "store/read_model.hpp"
#include "store/timer_store.hpp"

namespace qz {

// A back end that serves every sub-seam (sqlite/, later postgres/). Each sub-seam's header
// states its thread-safety; in short, Begin() and LoadState() belong to the one writer thread,
// everything else may be called from any thread and sees only committed data.
class Store : public EventLog,
              public OutboxStore,
              public TimerStore,
              public AdminStore,
              public ReadModel {
 public:
  ~Store() override = default;
};

}  // namespace qz
