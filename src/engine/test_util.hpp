// Test helpers for the engine: a fresh SQLite store in a temporary directory, terse events, and
// forwarding decorators of Store and Ingest for tests that watch or break single calls.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ingest.hpp"
#include "model/event.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qz-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> OpenStore(const std::string& dir, const std::string& name = "qunzhu.db") {
  auto store = OpenSqliteStore({.path = dir + "/" + name, .sync = SyncMode::kNormal});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// Parses NDJSON lines into a batch, as the API does.
inline IngestBatch Batch(std::string_view ndjson) {
  EventParser parser;
  auto items = SplitNdjson(ndjson);
  return ParseBatch(items, parser);
}

// Forwards every call to another store; a test overrides the calls it watches or breaks.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& s) : s_(s) {}
  Result<std::unique_ptr<StoreTxn>> Begin() override { return s_.Begin(); }
  Result<StateSnapshot> LoadState() override { return s_.LoadState(); }
  Result<StoreStats> Stats() override { return s_.Stats(); }
  Result<std::vector<Community>> ListCommunities() override { return s_.ListCommunities(); }
  Result<std::vector<Group>> ListGroups(std::optional<CommunityId> c) override {
    return s_.ListGroups(c);
  }
  Result<std::vector<Member>> ListMembers(const MemberQuery& q) override {
    return s_.ListMembers(q);
  }
  Result<MemberProfile> GetMember(MemberId id) override { return s_.GetMember(id); }
  Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before, int limit) override {
    return s_.MemberEvents(id, before, limit);
  }
  Result<std::vector<StoredEvent>> ScanEvents(int64_t after, int limit) override {
    return s_.ScanEvents(after, limit);
  }
  Result<std::optional<StoredEvent>> FindEvent(const std::string& p,
                                               const std::string& id) override {
    return s_.FindEvent(p, id);
  }
  Result<std::vector<OutboxRecord>> LoadOpenActions() override { return s_.LoadOpenActions(); }
  Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& q) override {
    return s_.ListActions(q);
  }
  Result<ActionCounts> CountActions() override { return s_.CountActions(); }
  Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& q) override {
    return s_.ListTasks(q);
  }
  Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) override {
    return s_.ScanTimerDues(after, limit);
  }
  Result<std::vector<TimerRecord>> FindTimers(CommunityId c, std::string_view prefix) override {
    return s_.FindTimers(c, prefix);
  }
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) override {
    return s_.GetTimers(ids);
  }
  Result<bool> UpdateTimerDue(int64_t id, TimeMs expected, TimeMs due) override {
    return s_.UpdateTimerDue(id, expected, due);
  }
  Status PutPlaybook(const StoredPlaybook& p) override { return s_.PutPlaybook(p); }
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override { return s_.LoadPlaybooks(); }
  Status PutToken(const ApiToken& t) override { return s_.PutToken(t); }
  Result<bool> HasToken(const std::string& h) override { return s_.HasToken(h); }

 protected:
  Store& s_;
};

// Forwards every call to another Ingest; a test overrides Submit.
class ForwardingIngest : public Ingest {
 public:
  explicit ForwardingIngest(Ingest& real) : real_(real) {}
  void Submit(IngestBatch batch, Done done) override {
    real_.Submit(std::move(batch), std::move(done));
  }
  void SetCommitListener(CommitListener listener) override {
    real_.SetCommitListener(std::move(listener));
  }
  Status SetPlaybook(std::shared_ptr<const Playbook> playbook, std::string toml) override {
    return real_.SetPlaybook(std::move(playbook), std::move(toml));
  }
  Status OpenTask(std::string community, std::string kind, std::string reason) override {
    return real_.OpenTask(std::move(community), std::move(kind), std::move(reason));
  }
  std::shared_ptr<const PlaybookSet> playbooks() const override { return real_.playbooks(); }
  const IngestMetrics& metrics() const override { return real_.metrics(); }
  double state_load_seconds() const override { return real_.state_load_seconds(); }

 protected:
  Ingest& real_;
};

}  // namespace qz::testing
