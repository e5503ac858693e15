// Test support for HTTP routes: a real HttpServer on a free port over in-memory fakes of Store
// and Ingest, a small synchronous HTTP client (server_fixture.cpp), and a gtest fixture that starts the server with
// the routes and metrics a test contributes. Used by the server's tests and by the tests of
// contributed routes (e.g. src/platform/sandbox/sandbox_routes_test.cpp). Never in the product.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/metrics.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "model/action.hpp"
#include "server/http_server.hpp"
#include "server/route.hpp"
#include "store/store.hpp"

namespace qz::server_testing {

using nlohmann::json;

inline constexpr std::string_view kToken = "s3cret-token";

// ---------------------------------------------------------------------------------------------
// Fakes

class FakeStore final : public Store {
 public:
  // Out of line (server_fixture.cpp), so the vtable and the virtual functions are compiled there
  // once, not in every test that includes this header.
  ~FakeStore() override;
  FakeStore() {
    communities.push_back({1, "default", "Default", "Asia/Shanghai", 1700000000000});
    Group g;
    g.id = 10;
    g.community_id = 1;
    g.platform = "wecom";
    g.external_id = "g-ext";
    g.name = "Readers";
    g.type = GroupType::kLearning;
    g.first_seen = 1700000000000;
    g.member_count = 3;
    groups.push_back(g);
    Group other = g;
    other.id = 11;
    other.community_id = 2;
    groups.push_back(other);
    for (MemberId id = 1; id <= 5; ++id) {
      Member m;
      m.id = id;
      m.community_id = 1;
      m.display_name = id == 3 ? "小明" : "user" + std::to_string(id);
      m.first_seen = 1700000000000 + id;
      members.push_back(m);
    }
    MemberProfile p;
    p.member = members[0];
    p.member.messages = 7;
    p.member.orders = 2;
    p.member.order_amount_e4 = 125000;  // 12.5 units
    p.member.referrer_id = 4;
    p.identities.push_back({1, "wecom", "u1", 1, "user1"});
    Membership ms;
    ms.group_id = 10;
    ms.member_id = 1;
    ms.role = Role::kAdmin;
    ms.joined_at = 1700000000000;
    ms.via_code = "poster";
    ms.inviter_id = 4;
    ms.messages = 7;
    p.memberships.push_back(ms);
    p.names.push_back({1, "user1", 1700000000000});
    p.tags.push_back({1, "vip", 1700000001000});
    profiles[1] = p;
    for (int64_t seq = 1; seq <= 3; ++seq) {
      StoredEvent e;
      e.seq = seq;
      e.member_id = seq == 2 ? kNoId : 1;  // 2: an event about no member
      e.group_id = 10;
      // Event 1 carries a sender's own "seq" and "member_id" (kept in attrs as any unknown field).
      e.json = R"({"id":"m)" + std::to_string(seq) + R"(","type":"message","text":"hi","x":1.50)" +
               (seq == 1 ? R"(,"seq":77,"member_id":9})" : "}");
      events.push_back(e);
    }
    tokens_[Sha256Hex(kToken)] = {.hash = Sha256Hex(kToken), .name = "test", .role = AccountRole::kOwner};

    // The outbox: ids 1..6 over groups 10 and 11 in every status.
    const ActionStatus statuses[] = {ActionStatus::kPending, ActionStatus::kDone,
                                     ActionStatus::kFailed,  ActionStatus::kDone,
                                     ActionStatus::kSending, ActionStatus::kPossiblySent};
    for (int64_t id = 1; id <= 6; ++id) {
      OutboxRecord r;
      r.id = id;
      r.action.type = id == 3 ? ActionType::kMute : ActionType::kSendMessage;
      r.action.community_id = 1;
      r.action.community = "default";
      r.action.platform = "sandbox";
      r.action.group = id % 2 == 1 ? "g1" : "g2";
      r.action.group_id = id % 2 == 1 ? 10 : 11;
      r.action.member = "u1";
      r.action.text = "hello " + std::to_string(id);
      r.action.duration_s = id == 3 ? 600 : 0;
      r.action.cause_event = "sandbox:e" + std::to_string(id);
      r.action.rule = "welcome";
      r.idempotency_key = "key-" + std::to_string(id);
      r.status = statuses[id - 1];
      r.attempts = static_cast<int>(id) - 1;
      r.next_attempt_at = r.status == ActionStatus::kPending ? 1700000005000 : 0;
      r.last_error = r.status == ActionStatus::kFailed ? "403 forbidden" : "";
      r.platform_ref = r.status == ActionStatus::kDone ? "ref-" + std::to_string(id) : "";
      r.created_at = 1700000000000;
      r.updated_at = 1700000001000;
      actions_.push_back(r);
    }
    for (int64_t id = 1; id <= 3; ++id) {
      OperatorTask t;
      t.id = id;
      t.community_id = 1;
      t.group_id = 10;
      t.member_id = id == 2 ? kNoId : 1;
      t.kind = "degraded:remove_member";
      t.reason = "spam " + std::to_string(id);
      t.evidence = "sandbox:e" + std::to_string(id);
      t.rule = "antispam";
      t.open = id != 2;
      t.created_at = 1700000000000 + id;
      tasks_.push_back(t);
    }
  }

  Result<std::unique_ptr<StoreTxn>> Begin() override { return Status::Unavailable("fake"); }
  Result<StateSnapshot> LoadState() override { return StateSnapshot{}; }
  Result<StoreStats> Stats() override {
    if (throw_on_stats) throw std::runtime_error("boom");
    if (fail_stats) return Status::Unavailable("disk on fire");
    return StoreStats{42, static_cast<int64_t>(members.size()), 2, 1};
  }
  Result<std::vector<Community>> ListCommunities() override { return communities; }
  Result<std::vector<Group>> ListGroups(std::optional<CommunityId> community_id) override {
    std::vector<Group> out;
    for (const Group& g : groups) {
      if (!community_id || g.community_id == *community_id) out.push_back(g);
    }
    return out;
  }
  Result<std::vector<Member>> ListMembers(const MemberQuery& query) override {
    std::lock_guard lock(mu_);
    last_query_ = query;
    std::vector<Member> out;
    for (const Member& m : members) {
      if (m.id <= query.after_id) continue;
      if (query.community_id && m.community_id != *query.community_id) continue;
      if (!query.q.empty() && m.display_name.find(query.q) == std::string::npos) continue;
      if (static_cast<int>(out.size()) == query.limit) break;
      out.push_back(m);
    }
    return out;
  }
  // The tags of the profiles, counted.
  Result<std::vector<TagCount>> ListTags(std::optional<CommunityId> community_id) override {
    std::map<std::string, int64_t> counts;
    for (const auto& [id, profile] : profiles) {
      if (community_id && profile.member.community_id != *community_id) continue;
      for (const MemberTag& t : profile.tags) ++counts[t.tag];
    }
    std::vector<TagCount> out;
    for (const auto& [tag, n] : counts) out.push_back({.tag = tag, .members = n});
    return out;
  }
  Result<MemberProfile> GetMember(MemberId id) override {
    auto it = profiles.find(id);
    if (it == profiles.end()) return Status::NotFound("no such member");
    return it->second;
  }
  Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                int limit) override {
    std::vector<StoredEvent> out;
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->member_id != id || (before_seq != 0 && it->seq >= before_seq)) continue;
      if (static_cast<int>(out.size()) == limit) break;
      out.push_back(*it);
    }
    return out;
  }
  Result<std::vector<StoredEvent>> GroupEvents(GroupId id, int64_t before_seq,
                                               int limit) override {
    std::vector<StoredEvent> out;
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->group_id != id || (before_seq != 0 && it->seq >= before_seq)) continue;
      if (static_cast<int>(out.size()) == limit) break;
      out.push_back(*it);
    }
    return out;
  }
  Result<std::vector<StoredEvent>> ScanEvents(int64_t, int) override {
    return std::vector<StoredEvent>{};
  }
  Result<std::optional<StoredEvent>> FindEvent(const std::string&, const std::string&) override {
    return std::optional<StoredEvent>{};
  }
  Status PutToken(const ApiToken& token) override {
    std::lock_guard lock(mu_);
    tokens_[token.hash] = token;
    return Status::Ok();
  }
  Result<std::optional<ApiToken>> FindToken(const std::string& hash) override {
    std::lock_guard lock(mu_);
    ++has_token_calls_;
    auto it = tokens_.find(hash);
    if (it == tokens_.end()) return std::optional<ApiToken>();
    return std::optional<ApiToken>(it->second);
  }
  // Accounts and sessions: in maps, as the conformance suite (store/admin_conformance.cpp) says.
  Status CreateAccount(const Account& account) override {
    std::lock_guard lock(mu_);
    if (!accounts_.emplace(account.name, account).second) {
      return Status(Code::kAlreadyExists, "an account '" + account.name + "' exists", "name");
    }
    return Status::Ok();
  }
  Status UpdateAccount(const Account& account) override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(account.name);
    if (it == accounts_.end()) return Status::NotFound("no account '" + account.name + "'");
    it->second.password_hash = account.password_hash;
    it->second.role = account.role;
    it->second.disabled = account.disabled;
    return Status::Ok();
  }
  Result<std::optional<Account>> GetAccount(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(name);
    if (it == accounts_.end()) return std::optional<Account>();
    return std::optional<Account>(it->second);
  }
  Result<std::vector<Account>> ListAccounts() override {
    std::lock_guard lock(mu_);
    std::vector<Account> out;
    for (const auto& [name, a] : accounts_) out.push_back(a);
    return out;
  }
  // Roles per community: in a map by account, kept only for existing accounts (as the
  // conformance suite says).
  Result<CommunityRoles> GetCommunityRoles(const std::string& account) override {
    std::lock_guard lock(mu_);
    auto it = community_roles_.find(account);
    return it == community_roles_.end() ? CommunityRoles{} : it->second;
  }
  Result<std::map<std::string, CommunityRoles>> ListCommunityRoles() override {
    std::lock_guard lock(mu_);
    std::map<std::string, CommunityRoles> out;
    for (const auto& [name, roles] : community_roles_) {
      if (!roles.empty()) out.emplace(name, roles);
    }
    return out;
  }
  Status ChangeCommunityRoles(const std::string& account,
                              const CommunityRoleChanges& changes) override {
    std::lock_guard lock(mu_);
    if (!accounts_.contains(account)) return Status::NotFound("no account '" + account + "'");
    CommunityRoles& roles = community_roles_[account];
    for (const auto& [community, role] : changes) {
      if (role) {
        roles[community] = *role;
      } else {
        roles.erase(community);
      }
    }
    return Status::Ok();
  }
  Status PutSession(const Session& session) override {
    std::lock_guard lock(mu_);
    sessions_[session.hash] = session;
    return Status::Ok();
  }
  Result<std::optional<Session>> GetSession(const std::string& hash) override {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(hash);
    if (it == sessions_.end()) return std::optional<Session>();
    return std::optional<Session>(it->second);
  }
  Status DeleteSession(const std::string& hash) override {
    std::lock_guard lock(mu_);
    sessions_.erase(hash);
    return Status::Ok();
  }
  Result<int64_t> DeleteAccountSessions(const std::string& account) override {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(
        std::erase_if(sessions_, [&](const auto& e) { return e.second.account == account; }));
  }
  Result<int64_t> DeleteExpiredSessions(TimeMs now) override {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(
        std::erase_if(sessions_, [&](const auto& e) { return e.second.expires_at <= now; }));
  }
  size_t session_count() {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }
  // Module state: `module_rows`, kept in (community, table, key) order by the test.
  Result<std::vector<ModuleStateEntry>> ListModuleState(CommunityId community,
                                                        std::string_view table,
                                                        std::string_view after_key,
                                                        int limit) override {
    std::lock_guard lock(mu_);
    std::vector<ModuleStateEntry> out;
    for (const ModuleStateEntry& e : module_rows) {
      if (e.community_id != community || e.module != table || e.key <= after_key) continue;
      if (static_cast<int>(out.size()) == std::clamp(limit, 1, 1000)) break;
      out.push_back(e);
    }
    return out;
  }
  Result<std::optional<ModuleStateEntry>> GetModuleState(CommunityId community,
                                                         std::string_view table,
                                                         std::string_view key) override {
    std::lock_guard lock(mu_);
    for (const ModuleStateEntry& e : module_rows) {
      if (e.community_id == community && e.module == table && e.key == key) return std::optional<ModuleStateEntry>(e);
    }
    return std::optional<ModuleStateEntry>{};
  }
  std::vector<ModuleStateEntry> module_rows;

  Result<std::vector<OutboxRecord>> LoadOpenActions() override {
    std::lock_guard lock(mu_);
    std::vector<OutboxRecord> out;
    for (const OutboxRecord& r : actions_) {
      if (r.status == ActionStatus::kPending || r.status == ActionStatus::kSending) {
        out.push_back(r);
      }
    }
    return out;
  }
  Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& query) override {
    std::lock_guard lock(mu_);
    if (fail_actions) return Status::Unavailable("disk on fire");
    last_action_query_ = query;
    std::vector<OutboxRecord> out;
    for (const OutboxRecord& r : actions_) {
      if (r.id <= query.after_id) continue;
      if (query.status && r.status != *query.status) continue;
      if (query.group_id && r.action.group_id != *query.group_id) continue;
      if (static_cast<int>(out.size()) == query.limit) break;
      out.push_back(r);
    }
    return out;
  }
  Result<ActionCounts> CountActions() override {
    std::lock_guard lock(mu_);
    if (fail_actions) return Status::Unavailable("disk on fire");
    ActionCounts c;
    for (const OutboxRecord& r : actions_) c.Add(r.status);
    return c;
  }
  Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) override {
    std::lock_guard lock(mu_);
    std::vector<OperatorTask> out;
    for (const OperatorTask& t : tasks_) {
      if (t.id <= query.after_id || (query.open_only && !t.open)) continue;
      if (static_cast<int>(out.size()) == query.limit) break;
      out.push_back(t);
    }
    return out;
  }
  Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue>, int) override {
    return std::vector<TimerDue>{};
  }
  Result<std::vector<TimerRecord>> FindTimers(CommunityId, std::string_view) override {
    return std::vector<TimerRecord>{};
  }
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t>) override {
    return std::vector<TimerRecord>{};
  }
  Status UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) override {
    applied.assign(changes.size(), false);
    return Status::Ok();
  }
  Status PutPlaybook(const StoredPlaybook& playbook) override {
    std::lock_guard lock(mu_);
    if (fail_playbooks) return Status::Unavailable("disk on fire");
    playbooks_[playbook.community] = playbook;
    return Status::Ok();
  }
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override {
    std::lock_guard lock(mu_);
    if (fail_playbooks) return Status::Unavailable("disk on fire");
    std::vector<StoredPlaybook> out;
    for (const auto& [slug, p] : playbooks_) out.push_back(p);
    return out;
  }

  int token_calls() {
    std::lock_guard lock(mu_);
    return has_token_calls_;
  }
  MemberQuery query() {
    std::lock_guard lock(mu_);
    return last_query_;
  }
  ActionQuery action_query() {
    std::lock_guard lock(mu_);
    return last_action_query_;
  }
  std::optional<StoredPlaybook> playbook(const std::string& slug) {
    std::lock_guard lock(mu_);
    auto it = playbooks_.find(slug);
    if (it == playbooks_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<Community> communities;
  std::vector<Group> groups;
  std::vector<Member> members;
  std::map<MemberId, MemberProfile> profiles;
  std::vector<StoredEvent> events;
  std::atomic<bool> fail_stats{false};
  std::atomic<bool> throw_on_stats{false};
  std::atomic<bool> fail_actions{false};
  std::atomic<bool> fail_playbooks{false};

 private:
  std::mutex mu_;  // guards the tokens_ and everything below
  std::map<std::string, ApiToken> tokens_;    // by hash
  std::map<std::string, Account> accounts_;   // by name
  std::map<std::string, CommunityRoles> community_roles_;  // by account name
  std::map<std::string, Session> sessions_;   // by hash
  int has_token_calls_ = 0;
  MemberQuery last_query_;
  ActionQuery last_action_query_;
  std::vector<OutboxRecord> actions_;
  std::vector<OperatorTask> tasks_;
  std::map<std::string, StoredPlaybook> playbooks_;  // by community slug
};

// Applies batches instantly: an event is a duplicate if its (platform, id) was seen before.
// With `async`, completions run on another thread, as the real writer's do.
class FakeIngest final : public Ingest {
 public:
  // Out of line (server_fixture.cpp), so the vtable and the virtual functions are compiled there
  // once, not in every test that includes this header.
  ~FakeIngest() override;

  void Submit(IngestBatch batch, Done done) override {
    IngestResult r;
    if (refuse != Code::kOk) {
      r.status = Status(refuse.load(), "refused by the fake");
    } else {
      std::lock_guard lock(mu_);
      r.rejected = std::move(batch.rejected);
      for (const Event& e : batch.events) {
        if (seen_.insert(e.platform + "/" + e.id).second) {
          ++r.accepted;
        } else {
          ++r.duplicates;
        }
      }
      submitted_events += static_cast<int64_t>(batch.events.size());
      for (size_t i = 0; i < batch.events.size(); ++i) {
        events_.push_back(batch.events[i]);
        if (i < batch.json.size()) json_.push_back(batch.json[i]);
      }
      metrics_.ingested += r.accepted;
      metrics_.duplicates += r.duplicates;
      metrics_.rejected += static_cast<int64_t>(r.rejected.size());
      metrics_.commits += 1;
      metrics_.commit_seconds.Observe(0.001);
    }
    if (async) {
      std::lock_guard lock(mu_);
      threads_.emplace_back([done = std::move(done), r = std::move(r)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        done(std::move(r));
      });
    } else {
      done(std::move(r));
    }
  }
  const IngestMetrics& metrics() const override { return metrics_; }
  double state_load_seconds() const override { return 0.25; }
  void SetCommitListener(CommitListener) override {}
  // Stores the text in `store` (as the writer does, in the transaction that applies it).
  Status SetPlaybook(std::shared_ptr<const Playbook> playbook, std::string toml) override {
    std::lock_guard lock(mu_);
    if (refuse_playbooks) return Status::Invalid("refused by the fake", "schedules[0].rule");
    if (store != nullptr) {
      QZ_RETURN_IF_ERROR(store->PutPlaybook({playbook->community, std::move(toml), 1700000000000}));
    }
    playbooks_ = playbooks_->With(std::move(playbook));
    return Status::Ok();
  }
  Status OpenTask(std::string, std::string, std::string) override {
    return Status::Unavailable("not in the fake");
  }
  Store* store = nullptr;
  std::shared_ptr<const PlaybookSet> playbooks() const override {
    std::lock_guard lock(mu_);
    return playbooks_;
  }

  // What reached Submit: the events and their canonical JSON.
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<std::string> event_json() {
    std::lock_guard lock(mu_);
    return json_;
  }

  std::atomic<bool> refuse_playbooks{false};

  std::atomic<Code> refuse{Code::kOk};
  std::atomic<bool> async{false};
  std::atomic<int64_t> submitted_events{0};

 private:
  mutable std::mutex mu_;
  std::set<std::string> seen_;
  std::vector<std::thread> threads_;
  std::vector<Event> events_;
  std::vector<std::string> json_;
  IngestMetrics metrics_;
  std::shared_ptr<const PlaybookSet> playbooks_ = std::make_shared<const PlaybookSet>();
};

// ---------------------------------------------------------------------------------------------
// Client (server_fixture.cpp: Beast is compiled once there, not in every test that includes this)

// What the server answered, as the tests look at it.
struct RawReply {
  std::string text;                                         // the body
  std::vector<std::pair<std::string, std::string>> fields;  // the headers, in order
  bool keeps_alive = false;
  const std::string& body() const { return text; }
  bool keep_alive() const { return keeps_alive; }
  // The first header of that name (case-insensitive); empty when there is none.
  std::string operator[](std::string_view name) const;
};

struct Reply {
  int status = 0;
  RawReply raw;
  json body;  // parsed when the body is JSON, else null
  std::string header(std::string_view name) const { return raw[name]; }
};

struct Req {
  std::string method = "GET";
  std::string target;
  std::string body;
  std::string content_type;
  std::string token = std::string(kToken);  // empty: no Authorization header
  bool chunked = false;
  // More headers (Cookie, X-CSRF-Token, ...); one named like a header above replaces it.
  std::vector<std::pair<std::string, std::string>> headers;
};

// One keep-alive connection to 127.0.0.1:port; every read and write gives up after 10 s.
class Client {
 public:
  explicit Client(uint16_t port);
  // Connects from `source`, another loopback address (e.g. "127.0.0.2"), as a different peer.
  Client(uint16_t port, const std::string& source);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Reply Send(const Req& q) {
    Write(q);
    return Read();
  }
  void Write(const Req& q);             // the request only
  void WriteRaw(std::string_view bytes);  // bytes as they are, HTTP or not
  std::string ReadRaw(std::size_t n);   // exactly n bytes
  Reply Read();                         // one answer
  // True when the server closed the connection (a read hits EOF or a reset); false when it
  // stays open for 10 s.
  bool ClosedByPeer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Fixture

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override { ingest_.store = &store_; }
  void TearDown() override { server_.reset(); }

  // The routes a test contributes (the built-in ones are always there).
  virtual Status AddRoutes(RouteTable& /*table*/) { return Status::Ok(); }

  // (Re)starts the server on a free port with AddRoutes() and `metrics_`.
  void StartServer(ServerOptions options = {}) {
    server_.reset();  // its metrics leave `metrics_` before the next one registers them
    options.port = 0;
    RouteTable routes;
    const Status added = AddRoutes(routes);
    ASSERT_TRUE(added.ok()) << added.ToString();
    ApiServices services{store_, ingest_, clock_, modules_};
    services_ = std::make_unique<ApiServices>(services);
    auto s = HttpServer::Start(options, *services_, std::move(routes), &metrics_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    ASSERT_NE(server_->port(), 0);
  }

  Reply Send(const Req& q) {
    Client c(server_->port());
    return c.Send(q);
  }
  Reply Get(const std::string& target) {
    Req q;
    q.target = target;
    return Send(q);
  }
  Reply Post(std::string body, std::string content_type = "application/json") {
    Req q;
    q.method = "POST";
    q.target = "/api/v1/events";
    q.body = std::move(body);
    q.content_type = std::move(content_type);
    return Send(q);
  }
  Reply Send(std::string method, std::string target, std::string body,
             std::string content_type = "application/json") {
    Req q;
    q.method = std::move(method);
    q.target = std::move(target);
    q.body = std::move(body);
    q.content_type = std::move(content_type);
    return Send(q);
  }

  static void ExpectError(const Reply& r, int status, std::string_view code,
                          std::string_view field = {}) {
    EXPECT_EQ(r.status, status) << r.raw.body();
    ASSERT_TRUE(r.body.is_object()) << r.raw.body();
    ASSERT_TRUE(r.body.contains("error")) << r.raw.body();
    EXPECT_EQ(r.body["error"]["code"], code) << r.raw.body();
    EXPECT_TRUE(r.body["error"]["message"].is_string());
    if (field.empty()) {
      EXPECT_FALSE(r.body["error"].contains("field")) << r.raw.body();
    } else {
      EXPECT_EQ(r.body["error"].value("field", ""), field) << r.raw.body();
    }
  }

  FakeStore store_;
  FakeIngest ingest_;
  ManualClock clock_{1700000000000};
  const ModuleRegistry* modules_ = nullptr;  // for PUT .../playbook
  MetricsRegistry metrics_;
  std::unique_ptr<ApiServices> services_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace qz::server_testing
