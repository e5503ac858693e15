#include "store/store_conformance.hpp"

#include <filesystem>
#include <system_error>
#include <utility>

#include "testing/temp_dir.hpp"

namespace qz {

StoreSeams ServeAll(std::unique_ptr<Store> owned) {
  if (owned == nullptr) return {};
  std::shared_ptr<Store> store(std::move(owned));
  return {.event_log = std::shared_ptr<EventLog>(store, store.get()),
          .outbox = std::shared_ptr<OutboxStore>(store, store.get()),
          .timers = std::shared_ptr<TimerStore>(store, store.get()),
          .admin = std::shared_ptr<AdminStore>(store, store.get()),
          .read_model = std::shared_ptr<ReadModel>(store, store.get())};
}

void SeamConformance::SetUp() {
  std::string pattern = ::testing::TempDir() + "qz_store_XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  dir_ = pattern;
  ASSERT_NO_FATAL_FAILURE(Open());
}

void SeamConformance::Open() {
  seams_ = GetParam()(dir_);
  ASSERT_NE(seams_.event_log, nullptr) << "the factory could not open a back end in " << dir_;
  for (Seam seam : needs_) {
    const bool served = [&] {
      switch (seam) {
        case Seam::kEventLog: return seams_.event_log != nullptr;
        case Seam::kOutbox: return seams_.outbox != nullptr;
        case Seam::kTimers: return seams_.timers != nullptr;
        case Seam::kAdmin: return seams_.admin != nullptr;
        case Seam::kReadModel: return seams_.read_model != nullptr;
      }
      return false;
    }();
    ASSERT_TRUE(served) << "this suite needs sub-seam " << static_cast<int>(seam)
                        << ", which the factory does not serve";
  }
}

void SeamConformance::TearDown() {
  seams_ = {};
  if (!dir_.empty()) {
    std::error_code ignored;  // best effort: a leftover temp dir must not fail the test
    std::filesystem::remove_all(dir_, ignored);
  }
}

void SeamConformance::Reopen() {
  seams_ = {};
  ASSERT_NO_FATAL_FAILURE(Open());
}

}  // namespace qz
