// Tests of the HTTP API against in-memory fakes of Store and Ingest, through the real
// HttpServer on a free port and a small synchronous Beast client.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "engine/ingest.hpp"
#include "server/api.hpp"
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

  int token_calls() {
    std::lock_guard lock(mu);
    return has_token_calls;
  }
  MemberQuery query() {
    std::lock_guard lock(mu);
    return last_query;
  }

  std::vector<Community> communities;
  std::vector<Group> groups;
  std::vector<Member> members;
  std::map<MemberId, MemberProfile> profiles;
  std::vector<StoredEvent> events;
  std::atomic<bool> fail_stats{false};
  std::atomic<bool> throw_on_stats{false};

 private:
  std::mutex mu;
  std::set<std::string> tokens;
  int has_token_calls = 0;
  MemberQuery last_query;
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

  std::atomic<Code> refuse{Code::kOk};
  std::atomic<bool> async{false};
  std::atomic<int64_t> submitted_events{0};

 private:
  std::mutex mu_;
  std::set<std::string> seen_;
  std::vector<std::thread> threads_;
  IngestMetrics metrics_;
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
  void SetUp() override { StartServer(ServerOptions{}); }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void StartServer(ServerOptions options) {
    if (server_) server_->Stop();
    options.port = 0;
    auto s = HttpServer::Start(options, store_, ingest_, clock_);
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

  FakeStore store_;
  FakeIngest ingest_;
  ManualClock clock_{1700000000000};
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
