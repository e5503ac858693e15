// Tests of the HTTP API against in-memory fakes of Store and Ingest, through the real
// HttpServer on a free port and a small synchronous Beast client (server/testing/).
#include <gtest/gtest.h>

#include "engine/delivery.hpp"
#include "engine/module_registry.hpp"
#include "engine/scheduler.hpp"
#include "modules/example/example.hpp"
#include "modules/schedule/schedule.hpp"
#include "modules/welcome/welcome.hpp"
#include "server/api.hpp"
#include "server/engine_metrics.hpp"
#include "server/http_server.hpp"
#include "server/testing/server_fixture.hpp"

namespace qz {
namespace {

using namespace server_testing;  // NOLINT: the fixture's fakes and client

// The built-in routes with every optional feature on: the engine's metrics and the modules'
// playbook sections.
class ServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    ASSERT_TRUE(modules_registry_.Add(MakeWelcomeModule()).ok());
    ASSERT_TRUE(modules_registry_.Add(MakeScheduleModule()).ok());
    ASSERT_TRUE(modules_registry_.Add(MakeExampleModule()).ok());
    modules_ = &modules_registry_;
    ASSERT_TRUE(AddDeliveryMetrics(metrics_, delivery_).ok());
    ASSERT_TRUE(AddSchedulerMetrics(metrics_, scheduler_).ok());
    ASSERT_TRUE(AddOutboxStatusMetrics(metrics_, store_).ok());
    StartServer(ServerOptions{});
  }
  Reply PutPlaybook(const std::string& slug, std::string toml,
                    std::string content_type = "application/toml") {
    return Send("PUT", "/api/v1/communities/" + slug + "/playbook", std::move(toml),
                std::move(content_type));
  }

  DeliveryMetrics delivery_;
  SchedulerMetrics scheduler_;
  ModuleRegistry modules_registry_;
};

constexpr std::string_view kEventA =
    R"({"id":"a1","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"wecom","group":"g1","member":"u1","text":"hi"})";
constexpr std::string_view kEventB =
    R"({"id":"b1","type":"checkin","time":"2026-03-01T09:00:00+08:00","platform":"wecom","group":"g1","member":"u2"})";
constexpr std::string_view kEventC =
    R"({"id":"c1","type":"link_click","time":"2026-03-01T10:00:00Z","platform":"wecom","member":"u3","url":"https://x.y"})";

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
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
}

TEST_F(ServerTest, WrongTokenIs401) {
  Req q;
  q.target = "/api/v1/stats";
  q.token = "wrong";
  Reply r = Send(q);
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
  // A malformed Authorization header is the same as none.
  q.token.clear();
  q.headers = {{"Authorization", "Basic abc"}};
  ExpectError(Send(q), 401, "unauthenticated");
}

TEST_F(ServerTest, RightTokenIs200AndIsCached) {
  Reply r = Get("/api/v1/stats");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  // The fake store's outbox holds one action in each status but two done.
  const json outbox = {{"pending", 1}, {"sending", 1}, {"done", 2}, {"failed", 1}, {"possibly_sent", 1}};
  EXPECT_EQ(r.body, json({{"events", 42}, {"members", 5}, {"groups", 2}, {"communities", 1},
                          {"outbox", outbox}}));
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
  EXPECT_EQ(r.header("Allow"), "GET");
  EXPECT_EQ(r.body["error"]["code"], "method_not_allowed");
  r = Get("/api/v1/events");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "POST");
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
  EXPECT_EQ(r.header("Retry-After"), "1");
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
  Reply r = Get("/api/v1/members/1/events?limit=1");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["events"].size(), 1u);
  EXPECT_EQ(r.body["events"][0]["seq"], 3);
  EXPECT_EQ(r.body["events"][0]["id"], "m3");
  EXPECT_EQ(r.body["events"][0]["type"], "message");
  EXPECT_EQ(r.body["next_before"], 3);
  // Stored JSON is embedded verbatim (no re-encoding of numbers), then seq and member_id.
  EXPECT_NE(r.raw.body().find(
                R"({"id":"m3","type":"message","text":"hi","x":1.50,"seq":3,"member_id":1})"),
            std::string::npos)
      << r.raw.body();
  r = Get("/api/v1/members/1/events?before=3");
  ASSERT_EQ(r.body["events"].size(), 1u);
  EXPECT_EQ(r.body["events"][0]["seq"], 1) << "the log's seq over a sender's own field of that name";
  EXPECT_EQ(r.body["events"][0]["member_id"], 1);
  EXPECT_TRUE(r.body["next_before"].is_null());
  ExpectError(Get("/api/v1/members/1/events?before=x"), 400, "invalid_argument", "before");
  ExpectError(Get("/api/v1/members/1/events?limit=5000"), 400, "invalid_argument", "limit");
}

TEST_F(ServerTest, AGroupAndItsEvents) {
  Reply r = Get("/api/v1/groups/10");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["external_id"], "g-ext");
  ExpectError(Get("/api/v1/groups/99"), 404, "not_found");
  ExpectError(Get("/api/v1/groups/abc"), 400, "invalid_argument", "id");
  r = Get("/api/v1/groups/10/events");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["events"].size(), 3u);
  EXPECT_EQ(r.body["events"][0]["member_id"], 1);
  EXPECT_FALSE(r.body["events"][1].contains("member_id")) << "about no member";
  EXPECT_TRUE(r.body["next_before"].is_null());
  EXPECT_TRUE(Get("/api/v1/groups/11/events").body["events"].empty());
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
  EXPECT_TRUE(r.header("Content-Type").starts_with("text/plain; version=0.0.4"));
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
  for (const char* name : {"delivery", "scheduler", "outbox_status"}) metrics_.Remove(name);
  StartServer(ServerOptions{});
  Reply r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  const std::string& text = r.raw.body();
  EXPECT_NE(text.find("qunzhu_events_ingested_total"), std::string::npos);
  EXPECT_EQ(text.find("qunzhu_outbox"), std::string::npos) << text;
  EXPECT_EQ(text.find("qunzhu_timers"), std::string::npos) << text;
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
                     {"created_at", "2023-11-14T22:13:20.001Z"},
                     {"assignee", nullptr},
                     {"closed_at", nullptr},
                     {"closed_by", nullptr},
                     {"note", nullptr}}));
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

// ---------------------------------------------------------------------------------------------
// Modules and their state

TEST_F(ServerTest, ModulesAndTheirTablesAreListed) {
  Reply r = Get("/api/v1/modules");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["modules"].size(), 3u);
  EXPECT_EQ(r.body["modules"][0]["name"], "welcome");
  EXPECT_EQ(r.body["modules"][1]["section"], "schedules");
  const json& example = r.body["modules"][2];
  EXPECT_EQ(example["name"], "example");
  ASSERT_EQ(example["tables"].size(), 1u);
  EXPECT_EQ(example["tables"][0]["name"], "pings");
  EXPECT_EQ(example["tables"][0]["fields"][0],
            json({{"name", "member"}, {"type", "int"}, {"key", true}}));
}

TEST_F(ServerTest, ModuleStateIsReadableRowByRowWithACursor) {
  store_.module_rows = {{1, "example.pings", "[1]", R"({"count":2,"last":1700000000000})"},
                        {1, "example.pings", "[2]", R"({"count":5})"},
                        {1, "example.pings", "[3]", "not json"},
                        {1, "other.table", "[1]", "{}"}};
  Reply r = Get("/api/v1/communities/default/state/example/pings?limit=2");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["rows"], json::parse(R"([{"member":1,"count":2,"last":1700000000000},
                                             {"member":2,"count":5,"last":null}])"));
  EXPECT_EQ(r.body["next_cursor"], "[2]");
  r = Get("/api/v1/communities/default/state/example/pings?limit=2&after=%5B2%5D");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["rows"], json::parse(R"([{"member":3,"_value":"not json"}])"))
      << r.raw.body();
  EXPECT_TRUE(r.body["next_cursor"].is_null());
  ExpectError(Get("/api/v1/communities/default/state/example/nope"), 404, "not_found");
  ExpectError(Get("/api/v1/communities/nobody/state/example/pings"), 404, "not_found");
  ExpectError(Get("/api/v1/communities/default/state/example/pings?limit=0"), 400,
              "invalid_argument", "limit");
}

TEST_F(ServerTest, PutPlaybookStoresAndApplies) {
  Reply r = PutPlaybook("camp", std::string(kCampToml));
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body, json({{"community", "camp"}, {"groups", 1}, {"sections", {"example", "schedules", "welcome"}}}));
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
  EXPECT_TRUE(r.header("Content-Type").starts_with("text/plain"));
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
  EXPECT_EQ(r.header("Allow"), "GET, PUT");
  ExpectError(Get("/api/v1/communities/camp/nope"), 404, "not_found");
  ExpectError(Get("/api/v1/communities//playbook"), 404, "not_found");
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
