// Black-box tests of bad input over HTTP: malformed and truncated bodies, bad events in a batch,
// invalid UTF-8, content types, body limits, authentication, routes and HTTP framing.
#include "blackbox_fixture.hpp"

namespace qzbb {
namespace {

// ---------------------------------------------------------------------------------------------
// 3. Bad input

TEST_F(Blackbox, MalformedBodyIs400AndTheServerKeepsServing) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  for (const std::string body : {"this is not json", "[{\"id\":\"a\"}, {\"id\":\"b\"}] trailing",
                                 "[", "[{\"id\":\"a\"},", "\"just a string\"", "42"}) {
    SCOPED_TRACE(body);
    const HttpResponse r =
        qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
    EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
    const json j = r.Json();
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      EXPECT_EQ(j["error"].value("field", ""), "body") << r.body;
    }
  }
  // An empty body and an empty array carry no events.
  EXPECT_TRUE(
      IsError(qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", ""), 400,
              "invalid_argument"));
  EXPECT_TRUE(IsError(server.Post(json::array()), 400, "invalid_argument"));
  const HttpResponse health = qzbb::Get(server.port, "/healthz", "");
  EXPECT_EQ(health.status, 200) << health.Describe();
  EXPECT_EQ(health.Json().value("status", ""), "ok") << health.body;
  EXPECT_EQ(Stats(server)["events"], 0);
}

// A body cut off inside an element is not a JSON array either: the same 400 as any other body
// that is not JSON, not a 200 that reports the fragment as a rejected event.
TEST_F(Blackbox, TruncatedJsonArrayIs400) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  const std::string good = MixedEvent("trunc-1", 6).dump();
  for (const std::string& body : std::vector<std::string>{
           "[{\"id\":\"a\",\"type\":\"message\",", "[" + good + ", {\"id\":", "{\"id\":\"a\","}) {
    SCOPED_TRACE(body);
    const HttpResponse r =
        qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
    EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
  }
  EXPECT_EQ(Stats(server)["events"], 0) << "part of a malformed body was applied";
}

TEST_F(Blackbox, BadEventsInABatchAreRejectedByIndexAndTheGoodOnesApplied) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  auto good = [](int n) { return MixedEvent("bad-batch-" + std::to_string(n), n, 10, 1).dump(); };
  json wrong_type = MixedEvent("x", 6);
  wrong_type["id"] = 123;
  json missing_id = MixedEvent("x", 7);
  missing_id.erase("id");
  const std::string bad_utf8 = WithInvalidUtf8Text(MixedEvent("bad-utf8", 8));
  json bad_time = MixedEvent("bad-time", 9);
  bad_time["time"] = "2026-03-01 08:00";  // no offset
  json amount_number = MixedEvent("bad-amount", 3);
  amount_number["amount"] = 9.9;
  json bad_type = MixedEvent("bad-type", 10);
  bad_type["type"] = "bogus";
  json no_group = MixedEvent("no-group", 11);
  no_group["type"] = "member_joined";  // a message without a group is a private chat; a join needs one
  no_group.erase("group");
  json bad_via = MixedEvent("bad-via", 0);
  bad_via["via"]["who"] = "u1";

  const std::vector<std::string> items = {
      good(6),               // 0
      wrong_type.dump(),     // 1 id
      good(1),               // 2
      missing_id.dump(),     // 3 id
      bad_utf8,              // 4 text
      good(3),               // 5
      bad_time.dump(),       // 6 time
      amount_number.dump(),  // 7 amount
      bad_type.dump(),       // 8 type
      no_group.dump(),       // 9 group
      good(4),               // 10
      bad_via.dump(),        // 11 via.who
      "42",                  // 12 not an object
  };
  const std::map<size_t, std::string> expected_fields = {{1, "id"},    {3, "id"},       {4, ""},
                                                         {6, "time"},  {7, "amount"},   {8, "type"},
                                                         {9, "group"}, {11, "via.who"}, {12, ""}};
  std::string body = "[";
  for (size_t i = 0; i < items.size(); ++i) body += (i ? ",\n" : "") + items[i];
  body += "]";

  const HttpResponse r =
      qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
  ASSERT_TRUE(IsIngestAnswer(r, 4, 0, expected_fields.size()));
  const json rejected = r.Json()["rejected"];
  auto it = expected_fields.begin();
  for (const auto& rej : rejected) {
    ASSERT_NE(it, expected_fields.end());
    SCOPED_TRACE(rej.dump());
    EXPECT_EQ(rej.value("index", -1), static_cast<int>(it->first)) << "rejections not by index";
    const std::string error = rej.value("error", "");
    EXPECT_FALSE(error.empty());
    if (!it->second.empty()) {
      EXPECT_EQ(error.rfind(it->second + ": ", 0), 0u)
          << "the error does not name the field " << it->second;
      EXPECT_EQ(rej.value("field", ""), it->second);
    }
    if (it->first == 4) {  // which field: see InvalidUtf8IsRejectedNamingTheField
      EXPECT_NE(error.find("UTF-8"), std::string::npos);
    }
    ++it;
  }
  EXPECT_EQ(Stats(server)["events"], 4);

  // NDJSON: the same per-line treatment.
  const std::string ndjson = good(21) + "\n{\"id\": oops\n\n" + good(22) + "\n";
  const HttpResponse nd = server.PostNdjson(ndjson);
  ASSERT_TRUE(IsIngestAnswer(nd, 2, 0, 1));
  EXPECT_EQ(nd.Json()["rejected"][0].value("index", -1), 1) << nd.body;
  EXPECT_EQ(Stats(server)["events"], 6);

  // A batch of nothing but bad events: 200, all rejected, nothing applied.
  const HttpResponse all_bad = server.Post(json::array({bad_time, bad_type}));
  ASSERT_TRUE(IsIngestAnswer(all_bad, 0, 0, 2));
  EXPECT_EQ(Stats(server)["events"], 6);
}

// docs/events.md: "Every error names the field"; invalid UTF-8 is an error. A client sending a
// batch of thousands needs to know which field of which event was wrong.
TEST_F(Blackbox, InvalidUtf8IsRejectedNamingTheField) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  const std::string good = MixedEvent("utf8-good", 6).dump();
  const std::string bad = WithInvalidUtf8Text(MixedEvent("utf8-bad", 8));
  for (const std::string content_type : {"application/json", "application/x-ndjson"}) {
    SCOPED_TRACE(content_type);
    const std::string body = content_type == "application/json" ? "[" + good + "," + bad + "]"
                                                                : good + "\n" + bad + "\n";
    const HttpResponse r =
        qzbb::Post(server.port, "/api/v1/events", server.token, content_type, body);
    ASSERT_TRUE(IsIngestAnswer(r, content_type == "application/json" ? 1 : 0,
                               content_type == "application/json" ? 0 : 1, 1));
    const json rej = r.Json()["rejected"][0];
    EXPECT_EQ(rej.value("index", -1), 1);
    EXPECT_EQ(rej.value("field", ""), "text") << rej.dump();
    EXPECT_EQ(rej.value("error", "").rfind("text: ", 0), 0u) << rej.dump();
  }
  EXPECT_EQ(Stats(server)["events"], 1);
}

TEST_F(Blackbox, ContentTypeBodyLimitAuthAndRoutes) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  const std::string one = json::array({MixedEvent("ct-1", 6)}).dump();

  // Content-Type
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", server.token, "text/plain", one),
                      415, "unsupported_media_type"));
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", server.token, "", one), 415,
                      "unsupported_media_type"));
  EXPECT_TRUE(IsIngestAnswer(qzbb::Post(server.port, "/api/v1/events", server.token,
                                        "Application/JSON; charset=utf-8", one),
                             1, 0, 0));

  // A body over 16 MiB: 413, and the server goes on serving.
  {
    std::string huge = "[" + std::string(kMaxBody, ' ') + "]";
    HttpRequest req;
    req.method = "POST";
    req.target = "/api/v1/events";
    req.headers = {{"Authorization", "Bearer " + server.token},
                   {"Content-Type", "application/json"}};
    req.body = std::move(huge);
    const HttpResponse r = Send(server.port, req);
    EXPECT_EQ(r.status, 413) << r.Describe();
    if (r.status == 413 && !r.body.empty()) {
      EXPECT_TRUE(IsError(r, 413, "payload_too_large"));
    }
  }
  EXPECT_EQ(qzbb::Get(server.port, "/healthz", "").status, 200);
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({MixedEvent("ct-2", 7)})), 1, 0, 0));
  // Just under the limit is fine (padding whitespace is valid JSON).
  {
    std::string big = one;
    big.insert(1, std::string(kMaxBody - one.size() - 10, ' '));
    EXPECT_TRUE(IsIngestAnswer(
        qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", big), 0, 1, 0));
  }

  // Authentication
  for (const std::string& auth :
       std::vector<std::string>{"", "Bearer wrong-token", "Basic " + server.token, "Bearer",
                                "Bearer " + server.token + "x"}) {
    SCOPED_TRACE("Authorization: " + auth);
    HttpRequest req;
    req.target = "/api/v1/stats";
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    const HttpResponse r = Send(server.port, req);
    EXPECT_TRUE(IsError(r, 401, "unauthenticated"));
    EXPECT_EQ(r.Header("WWW-Authenticate").rfind("Bearer", 0), 0u) << r.Header("WWW-Authenticate");
  }
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", "", "application/json",
                                 json::array({MixedEvent("no-auth", 8)}).dump()),
                      401, "unauthenticated"));
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", "not-the-token", "application/json",
                                 json::array({MixedEvent("bad-auth", 8)}).dump()),
                      401, "unauthenticated"));
  EXPECT_TRUE(IsError(qzbb::Get(server.port, "/metrics", ""), 401, "unauthenticated"));
  EXPECT_TRUE(IsError(qzbb::Get(server.port, "/api/v1/members/1", "nope"), 401, "unauthenticated"));
  EXPECT_EQ(Stats(server)["events"], 2) << "an unauthenticated POST changed the state";

  // A token made with `qunzhu token create` while the server runs works at once.
  const RunResult created = Cli({"token", "create", "--data", data, "--name", "blackbox"});
  ASSERT_EQ(created.status.code, 0) << created.Describe();
  std::string new_token = created.out.substr(0, created.out.find('\n'));
  ASSERT_FALSE(new_token.empty()) << created.Describe();
  EXPECT_EQ(qzbb::Get(server.port, "/api/v1/stats", new_token).status, 200);

  // Metrics
  const HttpResponse metrics = server.Get("/metrics");
  EXPECT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_NE(metrics.Header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(metrics.body.find("\nqunzhu_module_failures_total{module=\"welcome\"} 0\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nqunzhu_events_ingested_total 2\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nqunzhu_events_duplicate_total 1\n"), std::string::npos)
      << metrics.body;

  // Routes
  EXPECT_TRUE(IsError(server.Get("/api/v1/nope"), 404, "not_found"));
  // "/" is the operator console (or, when it is not built, a note on building it): public.
  const HttpResponse root = qzbb::Get(server.port, "/", "");
  EXPECT_EQ(root.status, 200) << root.Describe();
  EXPECT_EQ(root.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(IsError(server.Get("/api/v1/members/999999"), 404, "not_found"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members/1/nope"), 404, "not_found"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members/abc"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members?limit=0"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members?limit=1001"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members?q=%zz"), 400, "invalid_argument"));
  {
    HttpRequest req;
    req.method = "DELETE";
    req.target = "/api/v1/events";
    req.headers = {{"Authorization", "Bearer " + server.token}};
    const HttpResponse r = Send(server.port, req);
    EXPECT_EQ(r.status, 405) << r.Describe();
    EXPECT_EQ(r.Header("Allow"), "POST");
  }
  const HttpResponse get_events = server.Get("/api/v1/events");
  EXPECT_EQ(get_events.status, 405) << get_events.Describe();
  EXPECT_EQ(qzbb::Get(server.port, "/healthz", "").status, 200);
}

// HTTP framing: an upload cut short (the client dies after half the body) applies nothing; a
// chunked request body is read like any other.
TEST_F(Blackbox, CutShortUploadAppliesNothingAndChunkedBodiesWork) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  std::vector<json> events;
  for (int64_t n = 0; n < 40; ++n) events.push_back(MixedEvent("cut-" + std::to_string(n), n));
  const std::string body = Array(events).dump();
  {
    HttpRequest req;
    req.method = "POST";
    req.target = "/api/v1/events";
    req.headers = {{"Authorization", "Bearer " + server.token},
                   {"Content-Type", "application/json"},
                   {"Content-Length", std::to_string(body.size())}};
    req.body = body.substr(0, body.size() / 2);
    req.shutdown_after_send = true;
    req.timeout = 30s;
    const HttpResponse r = Send(server.port, req);
    // No answer at all, or an error; never a 200.
    EXPECT_TRUE(!r.ok() || r.status >= 400) << r.Describe();
  }
  EXPECT_EQ(Stats(server)["events"], 0) << "part of a cut-short upload was applied";

  HttpRequest chunked;
  chunked.method = "POST";
  chunked.target = "/api/v1/events";
  chunked.headers = {{"Authorization", "Bearer " + server.token},
                     {"Content-Type", "application/x-ndjson"},
                     {"Transfer-Encoding", "chunked"}};
  const std::string ndjson = ToNdjson(events);
  const size_t half = ndjson.size() / 2;  // split mid-line: framing must not depend on chunks
  for (const std::string& part : {ndjson.substr(0, half), ndjson.substr(half)}) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    chunked.body += size + part + "\r\n";
  }
  chunked.body += "0\r\n\r\n";
  EXPECT_TRUE(IsIngestAnswer(Send(server.port, chunked), 40, 0, 0));
  EXPECT_EQ(Stats(server)["events"], 40);
}

}  // namespace
}  // namespace qzbb
