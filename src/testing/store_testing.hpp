// qunzhu testing: stores for tests: a fresh SQLite store in a directory, and a forwarding
// decorator of Store for tests that watch or break single calls. Test code only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace qz::testing {

// Opens (creating) the SQLite store `name` in `dir` with SyncMode::kNormal; nullptr after a
// failed expectation naming the reason when it cannot.
std::unique_ptr<Store> OpenStore(const std::string& dir, const std::string& name = "qunzhu.db");

// Forwards every call to another store; a test overrides the calls it watches or breaks.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& s) : s_(s) {}
  Result<std::unique_ptr<StoreTxn>> Begin() override { return s_.Begin(); }
  Result<StateSnapshot> LoadState() override { return s_.LoadState(); }
  Result<StateSnapshot> LoadStateWithout(
      const std::function<bool(std::string_view module_table)>& skip) override {
    return s_.LoadStateWithout(skip);
  }
  Status BeginBulkLoad() override { return s_.BeginBulkLoad(); }
  Status EndBulkLoad() override { return s_.EndBulkLoad(); }
  Result<StoreStats> Stats() override { return s_.Stats(); }
  Result<std::vector<Community>> ListCommunities() override { return s_.ListCommunities(); }
  Result<std::vector<Group>> ListGroups(std::optional<CommunityId> c) override {
    return s_.ListGroups(c);
  }
  Result<std::vector<Member>> ListMembers(const MemberQuery& q) override {
    return s_.ListMembers(q);
  }
  Result<MemberProfile> GetMember(MemberId id) override { return s_.GetMember(id); }
  Result<std::vector<TagCount>> ListTags(std::optional<CommunityId> c) override {
    return s_.ListTags(c);
  }
  Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before, int limit) override {
    return s_.MemberEvents(id, before, limit);
  }
  Result<std::vector<StoredEvent>> GroupEvents(GroupId id, int64_t before, int limit) override {
    return s_.GroupEvents(id, before, limit);
  }
  Result<std::optional<Group>> GetGroup(GroupId id) override { return s_.GetGroup(id); }
  Result<std::optional<Group>> FindGroup(std::string_view p, std::string_view id) override {
    return s_.FindGroup(p, id);
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
  Status UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) override {
    return s_.UpdateTimerDues(changes, applied);
  }
  Status PutPlaybook(const StoredPlaybook& p) override { return s_.PutPlaybook(p); }
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override { return s_.LoadPlaybooks(); }
  Status PutToken(const ApiToken& t) override { return s_.PutToken(t); }
  Result<std::optional<ApiToken>> FindToken(const std::string& h) override {
    return s_.FindToken(h);
  }
  Status CreateAccount(const Account& a) override { return s_.CreateAccount(a); }
  Status UpdateAccount(const Account& a) override { return s_.UpdateAccount(a); }
  Result<std::optional<Account>> GetAccount(const std::string& name) override {
    return s_.GetAccount(name);
  }
  Result<std::vector<Account>> ListAccounts() override { return s_.ListAccounts(); }
  Result<CommunityRoles> GetCommunityRoles(const std::string& account) override {
    return s_.GetCommunityRoles(account);
  }
  Result<std::map<std::string, CommunityRoles>> ListCommunityRoles() override {
    return s_.ListCommunityRoles();
  }
  Status ChangeCommunityRoles(const std::string& account,
                              const CommunityRoleChanges& changes) override {
    return s_.ChangeCommunityRoles(account, changes);
  }
  Status PutSession(const Session& session) override { return s_.PutSession(session); }
  Result<std::optional<Session>> GetSession(const std::string& h) override {
    return s_.GetSession(h);
  }
  Status DeleteSession(const std::string& h) override { return s_.DeleteSession(h); }
  Result<int64_t> DeleteAccountSessions(const std::string& account) override {
    return s_.DeleteAccountSessions(account);
  }
  Result<int64_t> DeleteExpiredSessions(TimeMs now) override {
    return s_.DeleteExpiredSessions(now);
  }
  Result<std::vector<ModuleStateEntry>> ListModuleState(CommunityId c, std::string_view table,
                                                        std::string_view after_key,
                                                        int limit) override {
    return s_.ListModuleState(c, table, after_key, limit);
  }
  Result<std::optional<ModuleStateEntry>> GetModuleState(CommunityId c, std::string_view table,
                                                         std::string_view key) override {
    return s_.GetModuleState(c, table, key);
  }

 protected:
  Store& s_;
};

}  // namespace qz::testing
