// qunzhu store: the back-end-independent conformance suites, one per sub-seam
// (<seam>_conformance.cpp). A back end instantiates each suite for the sub-seams it serves with a
// factory for itself and must pass all of it; the tests use only the sub-seam interfaces.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace qz {

// The sub-seams one opened back end serves, sharing ownership of it; null for those it does not
// serve. Every suite needs event_log: rows are written through its transactions.
struct StoreSeams {
  std::shared_ptr<EventLog> event_log;
  std::shared_ptr<OutboxStore> outbox;
  std::shared_ptr<TimerStore> timers;
  std::shared_ptr<AdminStore> admin;
  std::shared_ptr<ReadModel> read_model;
};

// Every sub-seam of a back end that serves them all (null in, all null out).
StoreSeams ServeAll(std::unique_ptr<Store> store);

// Opens the back end that lives in `dir`: an existing directory owned by the test (created empty
// for each test, removed after it). Called again with the same `dir` after the previous back end
// was released, it must reopen the same data. Returns no event_log after reporting the reason
// (ADD_FAILURE) when the back end cannot be opened.
using StoreFactory = std::function<StoreSeams(const std::string& dir)>;

// Instantiate each suite with, e.g.:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, TimerConformance, ::testing::Values(StoreFactory(Make)));
class SeamConformance : public ::testing::TestWithParam<StoreFactory> {
 public:
  enum class Seam { kEventLog, kOutbox, kTimers, kAdmin, kReadModel };

 protected:
  // The suite's tests use these seams; SetUp fails when the factory does not serve one.
  explicit SeamConformance(std::vector<Seam> needs) : needs_(std::move(needs)) {}

  void SetUp() override;
  void TearDown() override;

  // Releases the back end and opens it again from the same directory.
  void Reopen();

  EventLog& log() { return *seams_.event_log; }
  OutboxStore& outbox() { return *seams_.outbox; }
  TimerStore& timer_store() { return *seams_.timers; }
  AdminStore& admin() { return *seams_.admin; }
  ReadModel& read_model() { return *seams_.read_model; }
  const std::string& dir() const { return dir_; }

 private:
  void Open();

  std::vector<Seam> needs_;
  std::string dir_;
  StoreSeams seams_;
};

// The suites. The event-log suite checks what its transactions write through every other
// sub-seam too (it is also the cross-seam rollback test), so it needs a back end serving all.
class EventLogConformance : public SeamConformance {
 protected:
  EventLogConformance()
      : SeamConformance({Seam::kEventLog, Seam::kOutbox, Seam::kTimers, Seam::kAdmin,
                         Seam::kReadModel}) {}
};
class OutboxConformance : public SeamConformance {
 protected:
  OutboxConformance() : SeamConformance({Seam::kEventLog, Seam::kOutbox}) {}
};
class TimerConformance : public SeamConformance {
 protected:
  TimerConformance() : SeamConformance({Seam::kEventLog, Seam::kTimers}) {}
};
class AdminConformance : public SeamConformance {
 protected:
  AdminConformance() : SeamConformance({Seam::kEventLog, Seam::kAdmin}) {}
};
class ReadModelConformance : public SeamConformance {
 protected:
  ReadModelConformance() : SeamConformance({Seam::kEventLog, Seam::kReadModel}) {}
};

}  // namespace qz
