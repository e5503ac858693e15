// Tests of the HTTP API against in-memory fakes of Store and Ingest (and a real SandboxPlatform
// on a ManualClock), through the real HttpServer on a free port and a small synchronous Beast
// client.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "engine/delivery.hpp"
#include "engine/ingest.hpp"
#include "engine/scheduler.hpp"
#include "model/action.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "server/api.hpp"

#include "engine/module_registry.hpp"
#include "modules/schedule/schedule.hpp"
#include "modules/welcome/welcome.hpp"
#include "server/http_server.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

constexpr std::string_view kToken = "s3cret-token";

// ---------------------------------------------------------------------------------------------
// Fakes

class FakeStore final : public Store {
 public:
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
      e.member_id = 1;
      e.json = R"({"id":"m)" + std::to_string(seq) +
               R"(","type":"message","text":"hi","x":1.50})";
      events.push_back(e);
    }
    tokens.insert(Sha256Hex(kToken));

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
      actions.push_back(r);
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
      tasks.push_back(t);
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
    std::lock_guard lock(mu);
    last_query = query;
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
  Result<std::vector<StoredEvent>> ScanEvents(int64_t, int) override {
    return std::vector<StoredEvent>{};
  }
  Result<std::optional<StoredEvent>> FindEvent(const std::string&, const std::string&) override {
    return std::optional<StoredEvent>{};
  }
  Status PutToken(const ApiToken& token) override {
    std::lock_guard lock(mu);
    tokens.insert(token.hash);
    return Status::Ok();
  }
  Result<bool> HasToken(const std::string& hash) override {
    std::lock_guard lock(mu);
    ++has_token_calls;
    return tokens.count(hash) > 0;
  }
  Result<std::vector<ModuleStateEntry>> ListModuleState(CommunityId, std::string_view,
                                                        std::string_view, int) override {
    return std::vector<ModuleStateEntry>{};
  }
  Result<std::optional<ModuleStateEntry>> GetModuleState(CommunityId, std::string_view,
                                                         std::string_view) override {
    return std::optional<ModuleStateEntry>{};
  }

  Result<std::vector<OutboxRecord>> LoadOpenActions() override {
    std::lock_guard lock(mu);
    std::vector<OutboxRecord> out;
    for (const OutboxRecord& r : actions) {
      if (r.status == ActionStatus::kPending || r.status == ActionStatus::kSending) {
        out.push_back(r);
      }
    }
    return out;
  }
  Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& query) override {
    std::lock_guard lock(mu);
    if (fail_actions) return Status::Unavailable("disk on fire");
    last_action_query = query;
    std::vector<OutboxRecord> out;
    for (const OutboxRecord& r : actions) {
      if (r.id <= query.after_id) continue;
      if (query.status && r.status != *query.status) continue;
      if (query.group_id && r.action.group_id != *query.group_id) continue;
      if (static_cast<int>(out.size()) == query.limit) break;
      out.push_back(r);
    }
    return out;
  }
  Result<ActionCounts> CountActions() override {
    std::lock_guard lock(mu);
    if (fail_actions) return Status::Unavailable("disk on fire");
    ActionCounts c;
    for (const OutboxRecord& r : actions) {
      switch (r.status) {
        case ActionStatus::kPending: ++c.pending; break;
        case ActionStatus::kSending: ++c.sending; break;
        case ActionStatus::kDone: ++c.done; break;
        case ActionStatus::kFailed: ++c.failed; break;
        case ActionStatus::kPossiblySent: ++c.possibly_sent; break;
      }
    }
    return c;
  }
  Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) override {
    std::lock_guard lock(mu);
    std::vector<OperatorTask> out;
    for (const OperatorTask& t : tasks) {
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
  Result<bool> UpdateTimerDue(int64_t, TimeMs, TimeMs) override { return false; }
  Status PutPlaybook(const StoredPlaybook& playbook) override {
    std::lock_guard lock(mu);
    if (fail_playbooks) return Status::Unavailable("disk on fire");
    playbooks[playbook.community] = playbook;
    return Status::Ok();
  }
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override {
    std::lock_guard lock(mu);
    if (fail_playbooks) return Status::Unavailable("disk on fire");
    std::vector<StoredPlaybook> out;
    for (const auto& [slug, p] : playbooks) out.push_back(p);
    return out;
  }

  int token_calls() {
    std::lock_guard lock(mu);
    return has_token_calls;
  }
  MemberQuery query() {
    std::lock_guard lock(mu);
    return last_query;
  }
  ActionQuery action_query() {
    std::lock_guard lock(mu);
    return last_action_query;
  }
  std::optional<StoredPlaybook> playbook(const std::string& slug) {
    std::lock_guard lock(mu);
    auto it = playbooks.find(slug);
    if (it == playbooks.end()) return std::nullopt;
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
  std::mutex mu;  // guards the tokens and everything below
  std::set<std::string> tokens;
  int has_token_calls = 0;
  MemberQuery last_query;
  ActionQuery last_action_query;
  std::vector<OutboxRecord> actions;
  std::vector<OperatorTask> tasks;
  std::map<std::string, StoredPlaybook> playbooks;  // by community slug
};

// Applies batches instantly: an event is a duplicate if its (platform, id) was seen before.
// With `async`, completions run on another thread, as the real writer's do.
class FakeIngest final : public Ingest {
 public:
  ~FakeIngest() override {
    for (auto& t : threads_) t.join();
  }

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
// Client

struct Reply {
  int status = 0;
  http::response<http::string_body> raw;
  json body;  // parsed when the body is JSON, else null
  std::string header(http::field f) const { return std::string(raw[f]); }
};

struct Req {
  std::string method = "GET";
  std::string target;
  std::string body;
  std::string content_type;
  std::string token = std::string(kToken);  // empty: no Authorization header
  bool chunked = false;
};

Reply ReadReply(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
  Reply r;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser);
  r.raw = parser.release();
  r.status = static_cast<int>(r.raw.result_int());
  if (r.raw[http::field::content_type].starts_with("application/json")) {
    r.body = json::parse(r.raw.body());
  }
  return r;
}

http::request<http::string_body> MakeRequest(const Req& q) {
  http::request<http::string_body> req{http::string_to_verb(q.method), q.target, 11};
  req.set(http::field::host, "localhost");
  if (!q.token.empty()) req.set(http::field::authorization, "Bearer " + q.token);
  if (!q.content_type.empty()) req.set(http::field::content_type, q.content_type);
  req.body() = q.body;
  if (q.chunked) {
    req.chunked(true);
  } else if (q.method != "GET" || !q.body.empty()) {
    req.prepare_payload();
  }
  return req;
}

class Client {
 public:
  explicit Client(uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream_.expires_after(std::chrono::seconds(10));
  }
  Reply Send(const Req& q) {
    http::write(stream_, MakeRequest(q));
    return ReadReply(stream_, buffer_);
  }
  beast::tcp_stream& stream() { return stream_; }
  // True when the server closed the connection (a read hits EOF or a reset).
  bool ClosedByPeer() {
    char c;
    beast::error_code ec;
    stream_.socket().read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

constexpr std::string_view kEventA =
    R"({"id":"a1","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"wecom","group":"g1","member":"u1","text":"hi"})";
constexpr std::string_view kEventB =
    R"({"id":"b1","type":"checkin","time":"2026-03-01T09:00:00+08:00","platform":"wecom","group":"g1","member":"u2"})";
constexpr std::string_view kEventC =
    R"({"id":"c1","type":"link_click","time":"2026-03-01T10:00:00Z","platform":"wecom","member":"u3","url":"https://x.y"})";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ingest_.store = &store_;
    ASSERT_TRUE(modules_.Add(MakeWelcomeModule()).ok());
    ASSERT_TRUE(modules_.Add(MakeScheduleModule()).ok());
    StartServer(ServerOptions{});
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Starts with every optional feature on (extras_), unless a test changed extras_ first.
  void StartServer(ServerOptions options) {
    if (server_) server_->Stop();
    options.port = 0;
    auto s = HttpServer::Start(options, store_, ingest_, clock_, extras_);
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

  Reply Send(std::string method, std::string target, std::string body,
             std::string content_type = "application/json") {
    Req q;
    q.method = std::move(method);
    q.target = std::move(target);
    q.body = std::move(body);
    q.content_type = std::move(content_type);
    return Send(q);
  }
  Reply PutPlaybook(const std::string& slug, std::string toml,
                    std::string content_type = "application/toml") {
    return Send("PUT", "/api/v1/communities/" + slug + "/playbook", std::move(toml),
                std::move(content_type));
  }

  FakeStore store_;
  FakeIngest ingest_;
  ManualClock clock_{1700000000000};
  SandboxPlatform sandbox_{clock_};
  DeliveryMetrics delivery_;
  SchedulerMetrics scheduler_;
  ModuleRegistry modules_;
  ServerExtras extras_{&sandbox_, &delivery_, &scheduler_, &modules_};
  std::unique_ptr<HttpServer> server_;
};

// ---------------------------------------------------------------------------------------------
// Auth and health

TEST_F(ServerTest, HealthzNeedsNoAuth) {
  Req q;
  q.target = "/healthz";
  q.token.clear();
  Reply r = Send(q);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"status", "ok"}}));
}

TEST_F(ServerTest, MissingTokenIs401) {
  Req q;
  q.target = "/api/v1/stats";
  q.token.clear();
  Reply r = Send(q);
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(r.header(http::field::www_authenticate), "Bearer");
}

TEST_F(ServerTest, WrongTokenIs401) {
  Req q;
  q.target = "/api/v1/stats";
  q.token = "wrong";
  Reply r = Send(q);
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(r.header(http::field::www_authenticate), "Bearer");
  // A malformed Authorization header is the same as none.
  Client c(server_->port());
  auto req = MakeRequest(q);
  req.set(http::field::authorization, "Basic abc");
  http::write(c.stream(), req);
  beast::flat_buffer buf;
  ExpectError(ReadReply(c.stream(), buf), 401, "unauthenticated");
}

TEST_F(ServerTest, RightTokenIs200AndIsCached) {
  Reply r = Get("/api/v1/stats");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body, json({{"events", 42}, {"members", 5}, {"groups", 2}, {"communities", 1}}));
  EXPECT_EQ(store_.token_calls(), 1);
  r = Get("/api/v1/stats");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(store_.token_calls(), 1) << "a known-good token must not hit the store again";
  // The cache expires, so a token removed from the store stops working.
  clock_.Advance(10 * 60 * 1000);
  r = Get("/api/v1/stats");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(store_.token_calls(), 2);
}

TEST_F(ServerTest, UnknownRouteIs401BeforeAuthAnd404After) {
  Req q;
  q.target = "/nope";
  q.token.clear();
  ExpectError(Send(q), 401, "unauthenticated");
  ExpectError(Get("/nope"), 404, "not_found");
  ExpectError(Get("/api/v1/members/1/nope"), 404, "not_found");
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  Req q;
  q.method = "DELETE";
  q.target = "/api/v1/stats";
  Reply r = Send(q);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header(http::field::allow), "GET");
  EXPECT_EQ(r.body["error"]["code"], "method_not_allowed");
  r = Get("/api/v1/events");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header(http::field::allow), "POST");
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/events

TEST_F(ServerTest, PostArrayThenDuplicates) {
  const std::string body = "[" + std::string(kEventA) + "," + std::string(kEventB) + "]";
  Reply r = Post(body);
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body, json({{"accepted", 2}, {"duplicates", 0}, {"rejected", json::array()}}));
  r = Post(body, "application/json; charset=utf-8");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 0);
  EXPECT_EQ(r.body["duplicates"], 2);
}

TEST_F(ServerTest, PostNdjson) {
  const std::string body = std::string(kEventA) + "\n\n" + std::string(kEventB) + "\r\n" +
                           std::string(kEventC) + "\n";
  Reply r = Post(body, "application/x-ndjson");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 3);
  EXPECT_EQ(r.body["rejected"], json::array());
}

TEST_F(ServerTest, PostSingleObjectIsABatchOfOne) {
  Reply r = Post(std::string(kEventC));
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
}

TEST_F(ServerTest, PostMixedBatchAcceptsGoodRejectsBad) {
  const std::string no_time =
      R"({"id":"x","type":"message","platform":"wecom","group":"g1","member":"u1"})";
  const std::string body = "[" + std::string(kEventA) + "," + no_time + ",42," +
                           std::string(kEventB) + "]";
  Reply r = Post(body);
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 2);
  ASSERT_EQ(r.body["rejected"].size(), 2u) << r.raw.body();
  EXPECT_EQ(r.body["rejected"][0]["index"], 1);
  EXPECT_EQ(r.body["rejected"][0]["field"], "time");
  EXPECT_TRUE(r.body["rejected"][0]["error"].get<std::string>().starts_with("time: "));
  EXPECT_EQ(r.body["rejected"][1]["index"], 2);
}

TEST_F(ServerTest, PostAllRejectedIsStill200) {
  Reply r = Post(R"([{"id":"x"}, {"type":"message"}])");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 0);
  EXPECT_EQ(r.body["rejected"].size(), 2u);
  EXPECT_EQ(ingest_.submitted_events.load(), 0);
  // Counted in the rejected metric although they never reached the ingest.
  const std::string metrics = Get("/metrics").raw.body();
  EXPECT_NE(metrics.find("qunzhu_events_rejected_total 2\n"), std::string::npos) << metrics;
}

TEST_F(ServerTest, PostInvalidUtf8IsARejectedElement) {
  std::string bad(kEventB);
  bad.insert(bad.find("\"g1\"") + 2, "\xff\xfe");
  const std::string body = "[" + std::string(kEventA) + "," + bad + "]";
  Reply r = Post(body);
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  ASSERT_EQ(r.body["rejected"].size(), 1u);
  EXPECT_EQ(r.body["rejected"][0]["index"], 1);
}

TEST_F(ServerTest, PostMalformedBodyIs400) {
  ExpectError(Post("hello"), 400, "invalid_argument", "body");
  ExpectError(Post(R"([{"id":"a"}] trailing)"), 400, "invalid_argument", "body");
  ExpectError(Post(""), 400, "invalid_argument", "body");
  ExpectError(Post(" [ ] "), 400, "invalid_argument", "body");
  ExpectError(Post("\n\n", "application/x-ndjson"), 400, "invalid_argument", "body");
}

TEST_F(ServerTest, PostWrongContentTypeIs415) {
  ExpectError(Post(std::string(kEventA), "text/plain"), 415, "unsupported_media_type");
  ExpectError(Post(std::string(kEventA), ""), 415, "unsupported_media_type");
}

TEST_F(ServerTest, PostOverLimitIs413AndServerKeepsServing) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  const std::string big = "[" + std::string(2000, ' ') + std::string(kEventA) + "]";
  {
    // Content-Length over the limit: refused before the body is read.
    Client c(server_->port());
    Req q;
    q.method = "POST";
    q.target = "/api/v1/events";
    q.content_type = "application/json";
    q.body = big;
    Reply r = c.Send(q);
    ExpectError(r, 413, "payload_too_large");
    EXPECT_FALSE(r.raw.keep_alive());
  }
  {
    // Chunked, no Content-Length: the limit is enforced while reading.
    Client c(server_->port());
    Req q;
    q.method = "POST";
    q.target = "/api/v1/events";
    q.content_type = "application/json";
    q.body = big;
    q.chunked = true;
    ExpectError(c.Send(q), 413, "payload_too_large");
  }
  EXPECT_EQ(Post(std::string(kEventA)).status, 200);
  Req h;
  h.target = "/healthz";
  EXPECT_EQ(Send(h).status, 200);
}

TEST_F(ServerTest, IngestRefusalMapsTo429And503) {
  ingest_.refuse = Code::kResourceExhausted;
  Reply r = Post(std::string(kEventA));
  ExpectError(r, 429, "resource_exhausted");
  EXPECT_EQ(r.header(http::field::retry_after), "1");
  ingest_.refuse = Code::kUnavailable;
  ExpectError(Post(std::string(kEventA)), 503, "unavailable");
}

TEST_F(ServerTest, AsyncCompletionFromAnotherThread) {
  ingest_.async = true;
  Client c(server_->port());
  Req q;
  q.method = "POST";
  q.target = "/api/v1/events";
  q.content_type = "application/json";
  q.body = std::string(kEventA);
  EXPECT_EQ(c.Send(q).body["accepted"], 1);
  EXPECT_EQ(c.Send(q).body["duplicates"], 1);  // same connection, kept alive
}

// ---------------------------------------------------------------------------------------------
// Reads

TEST_F(ServerTest, CommunitiesAndGroups) {
  Reply r = Get("/api/v1/communities");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.body["communities"].size(), 1u);
  EXPECT_EQ(r.body["communities"][0],
            json({{"id", 1},
                  {"slug", "default"},
                  {"name", "Default"},
                  {"time_zone", "Asia/Shanghai"},
                  {"created_at", "2023-11-14T22:13:20Z"}}));
  r = Get("/api/v1/groups");
  EXPECT_EQ(r.body["groups"].size(), 2u);
  r = Get("/api/v1/groups?community=1");
  ASSERT_EQ(r.body["groups"].size(), 1u);
  const json& g = r.body["groups"][0];
  EXPECT_EQ(g["id"], 10);
  EXPECT_EQ(g["type"], "learning");
  EXPECT_EQ(g["capacity"], 500);
  EXPECT_EQ(g["first_seen"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(g["last_activity"].is_null());
  EXPECT_EQ(g["member_count"], 3);
  ExpectError(Get("/api/v1/groups?community=x"), 400, "invalid_argument", "community");
}

TEST_F(ServerTest, MembersPagingAndQuery) {
  Reply r = Get("/api/v1/members?limit=2");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["members"].size(), 2u);
  EXPECT_EQ(r.body["members"][0]["id"], 1);
  EXPECT_EQ(r.body["next_cursor"], "2");
  r = Get("/api/v1/members?limit=2&cursor=4");
  ASSERT_EQ(r.body["members"].size(), 1u);
  EXPECT_EQ(r.body["members"][0]["id"], 5);
  EXPECT_TRUE(r.body["next_cursor"].is_null());
  // Percent-encoded UTF-8 ("小明") and a community filter reach the store decoded.
  r = Get("/api/v1/members?q=%E5%B0%8F%E6%98%8E&community=1&group=10");
  ASSERT_EQ(r.body["members"].size(), 1u) << r.raw.body();
  EXPECT_EQ(r.body["members"][0]["display_name"], "小明");
  const MemberQuery mq = store_.query();
  EXPECT_EQ(mq.q, "小明");
  EXPECT_EQ(mq.community_id, std::optional<CommunityId>(1));
  EXPECT_EQ(mq.group_id, std::optional<GroupId>(10));
  EXPECT_EQ(mq.limit, 50);
}

TEST_F(ServerTest, MembersParameterValidation) {
  ExpectError(Get("/api/v1/members?limit=0"), 400, "invalid_argument", "limit");
  ExpectError(Get("/api/v1/members?limit=1001"), 400, "invalid_argument", "limit");
  ExpectError(Get("/api/v1/members?limit=ten"), 400, "invalid_argument", "limit");
  ExpectError(Get("/api/v1/members?group=-1"), 400, "invalid_argument", "group");
  ExpectError(Get("/api/v1/members?community=0"), 400, "invalid_argument", "community");
  ExpectError(Get("/api/v1/members?cursor=1.5"), 400, "invalid_argument", "cursor");
  ExpectError(Get("/api/v1/members?cursor=99999999999999999999"), 400, "invalid_argument",
              "cursor");
  ExpectError(Get("/api/v1/members?q=%zz"), 400, "invalid_argument", "q");
  ExpectError(Get("/api/v1/members?q=%ff"), 400, "invalid_argument", "q");
  EXPECT_EQ(Get("/api/v1/members?limit=1000").status, 200);
}

TEST_F(ServerTest, MemberProfile) {
  Reply r = Get("/api/v1/members/1");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  const json& m = r.body;
  EXPECT_EQ(m["id"], 1);
  EXPECT_EQ(m["display_name"], "user1");
  EXPECT_EQ(m["referrer_id"], 4);
  EXPECT_TRUE(m["last_message"].is_null());
  EXPECT_EQ(m["counters"],
            json({{"messages", 7},
                  {"checkins", 0},
                  {"link_clicks", 0},
                  {"orders", 2},
                  {"order_amount", FormatAmountE4(125000)},
                  {"invited", 0}}));
  ASSERT_EQ(m["identities"].size(), 1u);
  EXPECT_EQ(m["identities"][0]["external_id"], "u1");
  ASSERT_EQ(m["memberships"].size(), 1u);
  const json& ms = m["memberships"][0];
  EXPECT_EQ(ms["group_id"], 10);
  EXPECT_EQ(ms["role"], "admin");
  EXPECT_EQ(ms["active"], true);
  EXPECT_EQ(ms["joined_at"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(ms["left_at"].is_null());
  EXPECT_TRUE(ms["left_reason"].is_null());
  EXPECT_EQ(ms["via_code"], "poster");
  EXPECT_EQ(ms["inviter_id"], 4);
  EXPECT_EQ(m["names"][0]["name"], "user1");
  EXPECT_EQ(m["tags"][0], json({{"tag", "vip"}, {"added_at", "2023-11-14T22:13:21Z"}}));
}

TEST_F(ServerTest, MemberNotFoundAndBadId) {
  ExpectError(Get("/api/v1/members/999"), 404, "not_found");
  ExpectError(Get("/api/v1/members/abc"), 400, "invalid_argument", "id");
  ExpectError(Get("/api/v1/members/0"), 400, "invalid_argument", "id");
  ExpectError(Get("/api/v1/members/abc/events"), 400, "invalid_argument", "id");
}

TEST_F(ServerTest, MemberEventsEmbedStoredJson) {
  Reply r = Get("/api/v1/members/1/events?limit=2");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["events"].size(), 2u);
  EXPECT_EQ(r.body["events"][0]["seq"], 3);
  EXPECT_EQ(r.body["events"][0]["id"], "m3");
  EXPECT_EQ(r.body["events"][0]["type"], "message");
  EXPECT_EQ(r.body["next_before"], 2);
  // Stored JSON is embedded verbatim (no re-encoding of numbers).
  EXPECT_NE(r.raw.body().find(R"({"seq":3,"id":"m3","type":"message","text":"hi","x":1.50})"),
            std::string::npos)
      << r.raw.body();
  r = Get("/api/v1/members/1/events?before=2");
  ASSERT_EQ(r.body["events"].size(), 1u);
  EXPECT_EQ(r.body["events"][0]["seq"], 1);
  EXPECT_TRUE(r.body["next_before"].is_null());
  ExpectError(Get("/api/v1/members/1/events?before=x"), 400, "invalid_argument", "before");
  ExpectError(Get("/api/v1/members/1/events?limit=5000"), 400, "invalid_argument", "limit");
}

TEST_F(ServerTest, StoreErrorsMapToStatus) {
  store_.fail_stats = true;
  ExpectError(Get("/api/v1/stats"), 503, "unavailable");
  store_.fail_stats = false;
  store_.throw_on_stats = true;
  ExpectError(Get("/api/v1/stats"), 500, "internal");
  store_.throw_on_stats = false;
  EXPECT_EQ(Get("/api/v1/stats").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Metrics

TEST_F(ServerTest, MetricsNeedAuthAndNameEverything) {
  Req q;
  q.target = "/metrics";
  q.token.clear();
  ExpectError(Send(q), 401, "unauthenticated");
  ASSERT_EQ(Post(std::string(kEventA)).status, 200);
  Reply r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.header(http::field::content_type).starts_with("text/plain; version=0.0.4"));
  const std::string& text = r.raw.body();
  for (const char* name :
       {"qunzhu_events_ingested_total 1\n", "qunzhu_events_duplicate_total",
        "qunzhu_events_rejected_total", "qunzhu_commits_total 1\n",
        "qunzhu_commit_failures_total", "# TYPE qunzhu_ingest_queue_events gauge",
        "# TYPE qunzhu_commit_seconds histogram", "qunzhu_commit_seconds_bucket{le=\"+Inf\"} 1",
        "# TYPE qunzhu_http_requests_total counter", "qunzhu_http_requests_total{code=\"2xx\"}",
        "qunzhu_http_requests_total{code=\"4xx\"} 1\n"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
}

TEST_F(ServerTest, MetricsOfOutboxAndTimersWhenSet) {
  delivery_.queued = 3;
  delivery_.failed = 2;
  delivery_.retries = 5;
  scheduler_.pending = 7;
  scheduler_.fired = 11;
  Reply r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  const std::string& text = r.raw.body();
  for (const char* line :
       {"# TYPE qunzhu_outbox_actions gauge\n", "qunzhu_outbox_actions{status=\"pending\"} 1\n",
        "qunzhu_outbox_actions{status=\"sending\"} 1\n",
        "qunzhu_outbox_actions{status=\"done\"} 2\n",
        "qunzhu_outbox_actions{status=\"failed\"} 1\n",
        "qunzhu_outbox_actions{status=\"possibly_sent\"} 1\n", "# TYPE qunzhu_outbox_queue gauge\n",
        "qunzhu_outbox_queue 3\n", "# TYPE qunzhu_outbox_failures_total counter\n",
        "qunzhu_outbox_failures_total 2\n", "qunzhu_outbox_retries_total 5\n",
        "# TYPE qunzhu_timers_pending gauge\n", "qunzhu_timers_pending 7\n",
        "# TYPE qunzhu_timers_fired_total counter\n", "qunzhu_timers_fired_total 11\n",
        "qunzhu_events_ingested_total"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  // A store failure leaves out the counts but not the rest.
  store_.fail_actions = true;
  r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.raw.body().find("qunzhu_outbox_actions{"), std::string::npos);
  EXPECT_NE(r.raw.body().find("qunzhu_outbox_queue 3\n"), std::string::npos);
}

TEST_F(ServerTest, MetricsWithoutExtrasLeaveThemOut) {
  extras_ = {};
  StartServer(ServerOptions{});
  Reply r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  const std::string& text = r.raw.body();
  EXPECT_NE(text.find("qunzhu_events_ingested_total"), std::string::npos);
  EXPECT_EQ(text.find("qunzhu_outbox"), std::string::npos) << text;
  EXPECT_EQ(text.find("qunzhu_timers"), std::string::npos) << text;
}

// ---------------------------------------------------------------------------------------------
// Sandbox

TEST_F(ServerTest, SandboxMessageIsIngestedAndListed) {
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages",
                 R"({"member":"u1","name":"Alice","text":"你好 hello"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  const json& event = r.body["event"];
  EXPECT_EQ(event["type"], "message");
  EXPECT_EQ(event["platform"], "sandbox");
  EXPECT_EQ(event["group"], "g1");
  EXPECT_EQ(event["member"], "u1");
  EXPECT_EQ(event["name"], "Alice");
  EXPECT_EQ(event["text"], "你好 hello");
  ASSERT_TRUE(event["id"].is_string());
  const std::string id = event["id"];

  // The fake ingest got exactly that event, with its canonical JSON, verbatim in the answer.
  const std::vector<Event> seen = ingest_.events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, id);
  EXPECT_EQ(seen[0].type, EventType::kMessage);
  EXPECT_EQ(seen[0].platform, "sandbox");
  EXPECT_EQ(seen[0].text, "你好 hello");
  ASSERT_EQ(ingest_.event_json().size(), 1u);
  EXPECT_EQ(ingest_.event_json()[0], EventToJson(seen[0]));
  EXPECT_NE(r.raw.body().find(ingest_.event_json()[0]), std::string::npos) << r.raw.body();

  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["group"], "g1");
  ASSERT_EQ(r.body["messages"].size(), 1u) << r.raw.body();
  const json& m = r.body["messages"][0];
  EXPECT_TRUE(m["seq"].is_number_integer());
  EXPECT_EQ(m["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(m["kind"], "message");
  EXPECT_EQ(m["member"], "u1");
  EXPECT_EQ(m["name"], "Alice");
  EXPECT_EQ(m["text"], "你好 hello");
  EXPECT_EQ(m["message_id"], id);
  EXPECT_EQ(m["deleted"], false);
  EXPECT_EQ(m["duration_s"], 0);
  EXPECT_TRUE(m.contains("reply_to"));
  EXPECT_TRUE(m["action_id"].is_null());
  EXPECT_TRUE(r.body["next_after"].is_null());

  r = Get("/api/v1/sandbox/groups");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"groups", {"g1"}}}));
}

TEST_F(ServerTest, SandboxConversationPages) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send("POST", "/api/v1/sandbox/groups/g%2D1/messages",
                   R"({"member":"u1","text":"m)" + std::to_string(i) + R"("})")
                  .status,
              200);
  }
  Reply r = Get("/api/v1/sandbox/groups/g-1/messages?limit=2");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["group"], "g-1");  // the escaped and the plain segment are one group
  ASSERT_EQ(r.body["messages"].size(), 2u);
  EXPECT_EQ(r.body["messages"][0]["text"], "m0");
  EXPECT_EQ(r.body["next_after"], r.body["messages"][1]["seq"]);
  const std::string after = std::to_string(r.body["next_after"].get<int64_t>());
  r = Get("/api/v1/sandbox/groups/g-1/messages?limit=2&after=" + after);
  ASSERT_EQ(r.body["messages"].size(), 1u);
  EXPECT_EQ(r.body["messages"][0]["text"], "m2");
  EXPECT_TRUE(r.body["next_after"].is_null());
  r = Get("/api/v1/sandbox/groups/g-1/messages?after=0");
  EXPECT_EQ(r.body["messages"].size(), 3u);
  // A group nobody wrote in has an empty conversation.
  r = Get("/api/v1/sandbox/groups/nobody/messages");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["messages"], json::array());
  ExpectError(Get("/api/v1/sandbox/groups/g-1/messages?after=-1"), 400, "invalid_argument",
              "after");
  ExpectError(Get("/api/v1/sandbox/groups/g-1/messages?limit=0"), 400, "invalid_argument",
              "limit");
  ExpectError(Get("/api/v1/sandbox/groups/g%zz/messages"), 400, "invalid_argument", "group");
}

TEST_F(ServerTest, SandboxJoinAndLeave) {
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/join",
                 R"({"member":"u2","name":"Bob","inviter":"u1","code":"poster"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  EXPECT_EQ(r.body["event"]["type"], "member_joined");
  EXPECT_EQ(r.body["event"]["member"], "u2");
  EXPECT_EQ(r.body["event"]["via"], json({{"inviter", "u1"}, {"code", "poster"}}));
  r = Send("POST", "/api/v1/sandbox/groups/g1/leave", R"({"member":"u2"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["event"]["type"], "member_left");
  EXPECT_EQ(r.body["event"]["member"], "u2");
  const std::vector<Event> seen = ingest_.events();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, EventType::kMemberJoined);
  EXPECT_EQ(seen[0].via_code, "poster");
  EXPECT_EQ(seen[1].type, EventType::kMemberLeft);
  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.body["messages"].size(), 2u) << r.raw.body();
  EXPECT_EQ(r.body["messages"][0]["kind"], "join");
  EXPECT_EQ(r.body["messages"][1]["kind"], "leave");
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/leave", R"({"name":"Bob"})"), 400,
              "invalid_argument", "name");  // leave takes no name
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/join", R"({"name":"Bob"})"), 400,
              "invalid_argument", "member");
}

TEST_F(ServerTest, SandboxMutedMemberIs400) {
  ASSERT_EQ(Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"hi"})")
                .status,
            200);
  OutboxRecord mute;
  mute.id = 42;
  mute.action.type = ActionType::kMute;
  mute.action.community = "default";
  mute.action.platform = "sandbox";
  mute.action.group = "g1";
  mute.action.member = "u1";
  mute.action.duration_s = 600;
  mute.idempotency_key = "mute-1";
  ASSERT_EQ(sandbox_.Perform(mute).kind, PerformResult::Kind::kDone);

  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"x"})");
  ExpectError(r, 400, "invalid_argument", "member");
  auto direct = sandbox_.PostMessage("g1", "u1", "", "y");  // the sandbox's own words
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(r.body["error"]["message"], direct.status().message());
  EXPECT_EQ(ingest_.events().size(), 1u) << "nothing ingested for a refused message";

  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.body["messages"].size(), 2u) << r.raw.body();
  const json& m = r.body["messages"][1];
  EXPECT_EQ(m["kind"], "mute");
  EXPECT_EQ(m["member"], "u1");
  EXPECT_EQ(m["duration_s"], 600);
  EXPECT_EQ(m["action_id"], 42);

  // Once the mute is over, the member can post again.
  clock_.Advance(601 * 1000);
  EXPECT_EQ(Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"z"})")
                .status,
            200);
}

TEST_F(ServerTest, SandboxBadBodiesAre400NamingTheField) {
  const std::string target = "/api/v1/sandbox/groups/g1/messages";
  ExpectError(Send("POST", target, "not json"), 400, "invalid_argument", "body");
  ExpectError(Send("POST", target, "[1,2]"), 400, "invalid_argument", "body");
  ExpectError(Send("POST", target, ""), 400, "invalid_argument", "body");
  ExpectError(Send("POST", target, R"({"text":"hi"})"), 400, "invalid_argument", "member");
  ExpectError(Send("POST", target, R"({"member":"","text":"hi"})"), 400, "invalid_argument",
              "member");
  ExpectError(Send("POST", target, R"({"member":"u1"})"), 400, "invalid_argument", "text");
  ExpectError(Send("POST", target, R"({"member":"u1","text":5})"), 400, "invalid_argument",
              "text");
  ExpectError(Send("POST", target, R"({"member":"u1","text":"hi","colour":"red"})"), 400,
              "invalid_argument", "colour");
  ExpectError(Send("POST", target, R"({"member":"u1","text":"hi"})", "text/plain"), 415,
              "unsupported_media_type");
  EXPECT_TRUE(ingest_.events().empty());
  EXPECT_TRUE(sandbox_.Conversation("g1").empty()) << "nothing recorded for a bad request";
}

TEST_F(ServerTest, SandboxIngestRefusalMapsToStatus) {
  ingest_.refuse = Code::kResourceExhausted;
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"hi"})");
  ExpectError(r, 429, "resource_exhausted");
  EXPECT_EQ(r.header(http::field::retry_after), "1");
  ingest_.refuse = Code::kOk;
  ingest_.async = true;  // completion from another thread
  r = Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"again"})");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
}

TEST_F(ServerTest, SandboxRoutesMethodsAndFeatureOff) {
  ExpectError(Get("/api/v1/sandbox/groups/g1/nope"), 404, "not_found");
  ExpectError(Get("/api/v1/sandbox/groups//messages"), 404, "not_found");
  ExpectError(Get("/api/v1/sandbox/other"), 404, "not_found");
  Reply r = Get("/api/v1/sandbox/groups/g1/join");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header(http::field::allow), "POST");
  r = Send("DELETE", "/api/v1/sandbox/groups/g1/messages", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header(http::field::allow), "GET, POST");
  r = Send("POST", "/api/v1/sandbox/groups", "{}");
  EXPECT_EQ(r.status, 405);
  // Auth first, as everywhere.
  Req q;
  q.target = "/api/v1/sandbox/groups";
  q.token.clear();
  ExpectError(Send(q), 401, "unauthenticated");

  extras_.sandbox = nullptr;
  StartServer(ServerOptions{});
  ExpectError(Get("/api/v1/sandbox/groups"), 404, "not_found");
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"hi"})"),
              404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Actions and tasks

TEST_F(ServerTest, ActionsListingAndFilters) {
  Reply r = Get("/api/v1/actions");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["actions"].size(), 6u);
  EXPECT_TRUE(r.body["next_cursor"].is_null());
  const json& a = r.body["actions"][0];
  EXPECT_EQ(a["id"], 1);
  EXPECT_EQ(a["type"], "send_message");
  EXPECT_EQ(a["status"], "pending");
  EXPECT_EQ(a["attempts"], 0);
  EXPECT_EQ(a["next_attempt_at"], "2023-11-14T22:13:25Z");
  EXPECT_EQ(a["last_error"], "");
  EXPECT_EQ(a["platform_ref"], "");
  EXPECT_EQ(a["idempotency_key"], "key-1");
  EXPECT_EQ(a["created_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(a["updated_at"], "2023-11-14T22:13:21Z");
  ASSERT_TRUE(a["action"].is_object()) << a.dump();
  EXPECT_EQ(a["action"]["type"], "send_message");
  EXPECT_EQ(a["action"]["text"], "hello 1");
  EXPECT_EQ(a["action"]["group"], "g1");
  // The embedded action is exactly ActionToJson's.
  OutboxRecord first;
  first.action.type = ActionType::kSendMessage;
  first.action.community_id = 1;
  first.action.community = "default";
  first.action.platform = "sandbox";
  first.action.group = "g1";
  first.action.group_id = 10;
  first.action.member = "u1";
  first.action.text = "hello 1";
  first.action.cause_event = "sandbox:e1";
  first.action.rule = "welcome";
  EXPECT_EQ(a["action"], json::parse(ActionToJson(first.action)));

  r = Get("/api/v1/actions?status=failed");
  ASSERT_EQ(r.body["actions"].size(), 1u) << r.raw.body();
  EXPECT_EQ(r.body["actions"][0]["id"], 3);
  EXPECT_EQ(r.body["actions"][0]["type"], "mute");
  EXPECT_EQ(r.body["actions"][0]["last_error"], "403 forbidden");
  EXPECT_EQ(r.body["actions"][0]["action"]["duration_s"], 600);
  EXPECT_TRUE(r.body["actions"][0]["next_attempt_at"].is_null());
  EXPECT_EQ(store_.action_query().status, std::optional<ActionStatus>(ActionStatus::kFailed));

  r = Get("/api/v1/actions?status=done");
  ASSERT_EQ(r.body["actions"].size(), 2u);
  for (const json& x : r.body["actions"]) EXPECT_EQ(x["status"], "done");
  EXPECT_EQ(r.body["actions"][0]["platform_ref"], "ref-2");
  r = Get("/api/v1/actions?status=possibly_sent");
  ASSERT_EQ(r.body["actions"].size(), 1u);
  EXPECT_EQ(r.body["actions"][0]["id"], 6);

  r = Get("/api/v1/actions?group=11&limit=2");
  ASSERT_EQ(r.body["actions"].size(), 2u);
  EXPECT_EQ(r.body["actions"][0]["id"], 2);
  EXPECT_EQ(r.body["actions"][1]["id"], 4);
  EXPECT_EQ(r.body["next_cursor"], "4");
  r = Get("/api/v1/actions?group=11&limit=2&cursor=4");
  ASSERT_EQ(r.body["actions"].size(), 1u);
  EXPECT_EQ(r.body["actions"][0]["id"], 6);
  EXPECT_TRUE(r.body["next_cursor"].is_null());
  const ActionQuery aq = store_.action_query();
  EXPECT_EQ(aq.group_id, std::optional<GroupId>(11));
  EXPECT_EQ(aq.after_id, 4);
  EXPECT_EQ(aq.limit, 2);

  ExpectError(Get("/api/v1/actions?status=bogus"), 400, "invalid_argument", "status");
  ExpectError(Get("/api/v1/actions?status="), 400, "invalid_argument", "status");
  ExpectError(Get("/api/v1/actions?group=x"), 400, "invalid_argument", "group");
  ExpectError(Get("/api/v1/actions?limit=0"), 400, "invalid_argument", "limit");
  ExpectError(Get("/api/v1/actions?cursor=-3"), 400, "invalid_argument", "cursor");
  store_.fail_actions = true;
  ExpectError(Get("/api/v1/actions"), 503, "unavailable");
  r = Send("POST", "/api/v1/actions", "{}");
  EXPECT_EQ(r.status, 405);
}

TEST_F(ServerTest, TasksListing) {
  Reply r = Get("/api/v1/tasks");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["tasks"].size(), 2u);  // open only by default
  const json& t = r.body["tasks"][0];
  EXPECT_EQ(t, json({{"id", 1},
                     {"community_id", 1},
                     {"group_id", 10},
                     {"member_id", 1},
                     {"kind", "degraded:remove_member"},
                     {"reason", "spam 1"},
                     {"evidence", "sandbox:e1"},
                     {"cause_event", ""},
                     {"rule", "antispam"},
                     {"open", true},
                     {"created_at", "2023-11-14T22:13:20.001Z"}}));
  EXPECT_EQ(r.body["tasks"][1]["id"], 3);
  EXPECT_TRUE(r.body["next_cursor"].is_null());
  r = Get("/api/v1/tasks?open=false&limit=2");
  ASSERT_EQ(r.body["tasks"].size(), 2u);
  EXPECT_EQ(r.body["tasks"][1]["id"], 2);
  EXPECT_EQ(r.body["tasks"][1]["open"], false);
  EXPECT_TRUE(r.body["tasks"][1]["member_id"].is_null());
  EXPECT_EQ(r.body["next_cursor"], "2");
  r = Get("/api/v1/tasks?open=false&cursor=2");
  ASSERT_EQ(r.body["tasks"].size(), 1u);
  EXPECT_EQ(r.body["tasks"][0]["id"], 3);
  ExpectError(Get("/api/v1/tasks?open=maybe"), 400, "invalid_argument", "open");
  ExpectError(Get("/api/v1/tasks?cursor=abc"), 400, "invalid_argument", "cursor");
}

// ---------------------------------------------------------------------------------------------
// Playbooks

constexpr std::string_view kCampToml = R"(# a test playbook
[community]
slug = "camp"
name = "Camp"

[[groups]]
platform = "sandbox"
id = "camp-1"

[welcome]
text = "欢迎 {member.name}"

[[schedules]]
name = "morning"
rule = "daily 06:20"
group = "sandbox:camp-1"
text = "早安 {date}"
)";

TEST_F(ServerTest, PutPlaybookStoresAndApplies) {
  Reply r = PutPlaybook("camp", std::string(kCampToml));
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body, json({{"community", "camp"}, {"groups", 1}, {"sections", {"schedules", "welcome"}}}));
  // Applied through the ingest...
  auto set = ingest_.playbooks();
  ASSERT_EQ(set->all().count("camp"), 1u);
  const Playbook& pb = set->For("camp");
  EXPECT_EQ(pb.name, "Camp");
  ASSERT_NE(pb.Section<ScheduleConfig>("schedules"), nullptr);
  ASSERT_EQ(pb.Section<ScheduleConfig>("schedules")->schedules.size(), 1u);
  EXPECT_EQ(pb.Section<ScheduleConfig>("schedules")->schedules[0].rule, "daily 06:20");
  // ...and stored verbatim.
  auto stored = store_.playbook("camp");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->toml, kCampToml);
  EXPECT_EQ(stored->updated_at, 1700000000000);

  r = Get("/api/v1/communities/camp/playbook");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.header(http::field::content_type).starts_with("text/plain"));
  EXPECT_EQ(r.raw.body(), kCampToml);
  ExpectError(Get("/api/v1/communities/other/playbook"), 404, "not_found");

  // text/plain is accepted too, with parameters; a replacement without welcome says so.
  std::string no_welcome(kCampToml);
  no_welcome.erase(no_welcome.find("[welcome]"), no_welcome.find("[[schedules]]") -
                                                     no_welcome.find("[welcome]"));
  r = PutPlaybook("camp", no_welcome, "text/plain; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_FALSE(ingest_.playbooks()->For("camp").Section<WelcomeConfig>("welcome")->enabled);
  EXPECT_EQ(Get("/api/v1/communities/camp/playbook").raw.body(), no_welcome);
}

TEST_F(ServerTest, PutPlaybookErrors) {
  // A TOML syntax error names the line.
  Reply r = PutPlaybook("camp", "[community]\nslug = \"camp\"\nname = \n");
  ExpectError(r, 400, "invalid_argument");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find(":3:"), std::string::npos)
      << r.raw.body();
  // A validation error names the line and the key path.
  std::string bad(kCampToml);
  bad.replace(bad.find("daily 06:20"), 11, "hourly");
  r = PutPlaybook("camp", bad);
  ExpectError(r, 400, "invalid_argument", "schedules[0].rule");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find(":15:"), std::string::npos)
      << r.raw.body();
  // The playbook must be for the community of the URL.
  r = PutPlaybook("other", std::string(kCampToml));
  ExpectError(r, 400, "invalid_argument", "community.slug");
  ExpectError(PutPlaybook("camp", std::string(kCampToml), "application/json"), 415,
              "unsupported_media_type");
  ExpectError(PutPlaybook("camp", std::string(kCampToml), ""), 415, "unsupported_media_type");
  std::string huge(kCampToml);
  huge += "# " + std::string(1 << 20, 'x') + "\n";
  ExpectError(PutPlaybook("camp", huge), 413, "payload_too_large");
  EXPECT_TRUE(ingest_.playbooks()->all().empty()) << "nothing applied";
  EXPECT_FALSE(store_.playbook("camp").has_value()) << "nothing stored";

  // Store and ingest failures map through the one Code → status mapping.
  store_.fail_playbooks = true;
  ExpectError(PutPlaybook("camp", std::string(kCampToml)), 503, "unavailable");
  EXPECT_TRUE(ingest_.playbooks()->all().empty());
  ExpectError(Get("/api/v1/communities/camp/playbook"), 503, "unavailable");
  store_.fail_playbooks = false;
  ingest_.refuse_playbooks = true;
  ExpectError(PutPlaybook("camp", std::string(kCampToml)), 400, "invalid_argument",
              "schedules[0].rule");

  r = Send("POST", "/api/v1/communities/camp/playbook", std::string(kCampToml),
           "application/toml");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header(http::field::allow), "GET, PUT");
  ExpectError(Get("/api/v1/communities/camp/nope"), 404, "not_found");
  ExpectError(Get("/api/v1/communities//playbook"), 404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Transport

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c(server_->port());
  Req q;
  q.target = "/api/v1/stats";
  for (int i = 0; i < 5; ++i) {
    Reply r = c.Send(q);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.raw.keep_alive());
  }
  q.target = "/nope";
  EXPECT_EQ(c.Send(q).status, 404);
  q.target = "/healthz";
  EXPECT_EQ(c.Send(q).status, 200);
}

TEST_F(ServerTest, MalformedHttpClosesTheConnection) {
  Client c(server_->port());
  net::write(c.stream().socket(), net::buffer(std::string("GARBAGE\r\n\r\n")));
  EXPECT_TRUE(c.ClosedByPeer());
  Client c2(server_->port());
  net::write(c2.stream().socket(),
             net::buffer(std::string("POST /api/v1/events HTTP/1.1\r\nContent-Length: x\r\n\r\n")));
  EXPECT_TRUE(c2.ClosedByPeer());
  EXPECT_EQ(Get("/api/v1/stats").status, 200);
}

TEST_F(ServerTest, Expect100Continue) {
  Client c(server_->port());
  const std::string body(kEventA);
  const std::string head = "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           std::string(kToken) +
                           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  net::write(c.stream().socket(), net::buffer(head));
  std::string got(25, '\0');
  net::read(c.stream().socket(), net::buffer(got));
  EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
  net::write(c.stream().socket(), net::buffer(body));
  beast::flat_buffer buf;
  Reply r = ReadReply(c.stream(), buf);
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
}

TEST_F(ServerTest, ConnectionCapRefusesBeyond) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  Client a(server_->port()), b(server_->port());
  Req q;
  q.target = "/healthz";
  ASSERT_EQ(a.Send(q).status, 200);  // both admitted and idle
  ASSERT_EQ(b.Send(q).status, 200);
  Client c(server_->port());
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(ServerTest, IdleTimeoutClosesConnection) {
  ServerOptions options;
  options.idle_timeout_seconds = 1;
  StartServer(options);
  Client c(server_->port());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ServerTest, StopClosesIdleConnectionsAndFinishesInFlight) {
  ingest_.async = true;  // the answer arrives ~20 ms after Submit
  Client idle(server_->port());
  Client busy(server_->port());
  Req h;
  h.target = "/healthz";
  ASSERT_EQ(idle.Send(h).status, 200);
  Req q;
  q.method = "POST";
  q.target = "/api/v1/events";
  q.content_type = "application/json";
  q.body = std::string(kEventA);
  http::write(busy.stream(), MakeRequest(q));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->Stop();  // returns only once the in-flight answer was written
  beast::flat_buffer buf;
  Reply r = ReadReply(busy.stream(), buf);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["accepted"], 1);
  EXPECT_FALSE(r.raw.keep_alive());
  EXPECT_TRUE(idle.ClosedByPeer());
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, ConcurrentClients) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client c(server_->port());
      for (int i = 0; i < 20; ++i) {
        Req q;
        q.method = "POST";
        q.target = "/api/v1/events";
        q.content_type = "application/x-ndjson";
        q.body = R"({"id":"t)" + std::to_string(t) + "-" + std::to_string(i) +
                 R"(","type":"checkin","time":"2026-03-01T09:00:00Z","platform":"wecom","group":"g","member":"u"})";
        if (c.Send(q).body.value("accepted", 0) == 1) ++ok;
        Req g;
        g.target = "/api/v1/members?limit=3";
        if (c.Send(g).status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 20 * 2);
}

TEST(StartTest, BadOptionsAndBusyPort) {
  FakeStore store;
  FakeIngest ingest;
  SystemClock clock;
  ServerOptions bad;
  bad.port = 0;
  bad.io_threads = 0;
  auto s = HttpServer::Start(bad, store, ingest, clock);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().field(), "io_threads");

  ServerOptions first;
  first.port = 0;
  auto a = HttpServer::Start(first, store, ingest, clock);
  ASSERT_TRUE(a.ok());
  ServerOptions second;
  second.port = (*a)->port();
  auto b = HttpServer::Start(second, store, ingest, clock);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kUnavailable);
}

// ---------------------------------------------------------------------------------------------
// Helpers

TEST(ApiInternalTest, Helpers) {
  std::string out;
  EXPECT_TRUE(api_internal::PercentDecode("a+b%20c%E5%B0%8F", out));
  EXPECT_EQ(out, "a b c\xE5\xB0\x8F");
  EXPECT_FALSE(api_internal::PercentDecode("%2", out));
  EXPECT_FALSE(api_internal::PercentDecode("%g0", out));
  EXPECT_EQ(api_internal::ParsePositiveInt("42"), 42);
  EXPECT_EQ(api_internal::ParsePositiveInt("0"), 0);
  EXPECT_EQ(api_internal::ParsePositiveInt("+1"), 0);
  EXPECT_EQ(api_internal::ParsePositiveInt(""), 0);
  EXPECT_EQ(api_internal::ParsePositiveInt("9999999999999999999"), 0);
  EXPECT_EQ(api_internal::BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(api_internal::BearerToken("bearer   abc "), "abc");
  EXPECT_EQ(api_internal::BearerToken("Bearer"), "");
  EXPECT_EQ(api_internal::BearerToken("Basic abc"), "");
  EXPECT_EQ(api_internal::BearerToken("Bearer a b"), "");
}

TEST(ApiInternalTest, CodeToStatus) {
  EXPECT_EQ(HttpStatus(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatus(Code::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatus(Code::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatus(Code::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(Code::kInternal), 500);
  ApiResponse r = ErrorResponse(Status::Invalid("bad", "limit"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"error":{"code":"invalid_argument","message":"bad","field":"limit"}})"));
}

}  // namespace
}  // namespace qz
