// The route table: patterns, matching, parameters, pagination helpers.
#include "server/route.hpp"

#include <gtest/gtest.h>

namespace qz {
namespace {

Handler Noop() {
  return [](Call&) { return Status::Ok(); };
}

TEST(RouteTableTest, RejectsMalformedPatternsAndClashes) {
  RouteTable t;
  EXPECT_EQ(t.Add({"GET", "api/v1", Noop()}).field(), "pattern");
  EXPECT_EQ(t.Add({"GET", "/a/{id:float}", Noop()}).field(), "pattern");
  EXPECT_EQ(t.Add({"GET", "/a/{Id}", Noop()}).field(), "pattern");
  EXPECT_EQ(t.Add({"GET", "/a/{x}/{x}", Noop()}).field(), "pattern");
  EXPECT_EQ(t.Add({"GET", "/a//b", Noop()}).field(), "pattern");
  EXPECT_EQ(t.Add({"GET", "/a/{x", Noop()}).field(), "pattern");
  EXPECT_EQ(t.Add({"GET", "/a", nullptr}).field(), "pattern");
  EXPECT_EQ(t.Add({"FETCH", "/a", Noop()}).field(), "method");
  ASSERT_TRUE(t.Add({"GET", "/a/{id:int}", Noop()}).ok());
  EXPECT_EQ(t.Add({"GET", "/a/{other}", Noop()}).code(), Code::kAlreadyExists)
      << "same shape, whatever the parameter's name";
  EXPECT_TRUE(t.Add({"PUT", "/a/{id:int}", Noop()}).ok());
  EXPECT_TRUE(t.Add({"GET", "/a/latest", Noop()}).ok());
  EXPECT_EQ(t.size(), 3u);
}

TEST(RouteTableTest, FindsTheMostSpecificRouteAndListsAllowedMethods) {
  RouteTable t;
  ASSERT_TRUE(t.Add({"GET", "/m/{id:int}/events", Noop()}).ok());
  ASSERT_TRUE(t.Add({"GET", "/m/{id:int}", Noop()}).ok());
  ASSERT_TRUE(t.Add({"GET", "/m/latest", Noop()}).ok());
  ASSERT_TRUE(t.Add({"PUT", "/c/{slug}/playbook", Noop()}).ok());
  ASSERT_TRUE(t.Add({"GET", "/c/{slug}/playbook", Noop()}).ok());

  RouteTable::Match m = t.Find("GET", "/m/latest");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/m/latest");
  m = t.Find("GET", "/m/12/events");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/m/{id:int}/events");
  auto params = RouteTable::DecodeParams(m);
  ASSERT_TRUE(params.ok());
  ASSERT_EQ(params->size(), 1u);
  EXPECT_EQ((*params)[0], std::make_pair(std::string("id"), std::string("12")));

  m = t.Find("DELETE", "/c/x/playbook");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, PUT");
  EXPECT_FALSE(m.all_public);
  m = t.Find("GET", "/m/");
  EXPECT_EQ(m.route, nullptr) << "a parameter never matches an empty segment";
  EXPECT_TRUE(m.allow.empty());
  EXPECT_EQ(t.Find("GET", "/m/1/other").route, nullptr);
  EXPECT_EQ(t.Find("GET", "").route, nullptr);
  EXPECT_EQ(t.Find("GET", "/").route, nullptr);
}

TEST(RouteTableTest, TheRootIsOneRouteAndOnlyItsPath) {
  RouteTable t;
  ASSERT_TRUE(t.Add({"GET", "/", Noop()}).ok());
  ASSERT_TRUE(t.Add({"GET", "/{page}", Noop()}).ok());
  EXPECT_EQ(t.Add({"GET", "/", Noop()}).code(), Code::kAlreadyExists);
  EXPECT_EQ(t.Add({"GET", "//", Noop()}).field(), "pattern") << "still no empty segments";
  auto m = t.Find("GET", "/");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/");
  m = t.Find("GET", "/groups");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/{page}");
  EXPECT_EQ(t.Find("GET", "//").route, nullptr);
}

TEST(RouteTableTest, DecodesAndTypesParameters) {
  RouteTable t;
  ASSERT_TRUE(t.Add({"GET", "/g/{group}/m/{id:int}", Noop()}).ok());
  auto decode = [&](std::string_view path) { return RouteTable::DecodeParams(t.Find("GET", path)); };
  auto ok = decode("/g/a%2Fb+c/m/5");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].second, "a/b+c") << "decoded after splitting; '+' stays in a path";
  EXPECT_EQ(decode("/g/a/m/0").status().field(), "id");
  EXPECT_EQ(decode("/g/a/m/-1").status().field(), "id");
  EXPECT_EQ(decode("/g/a/m/99999999999999999999").status().field(), "id");
  EXPECT_EQ(decode("/g/%zz/m/1").status().field(), "group");
  EXPECT_EQ(decode("/g/%FF/m/1").status().field(), "group") << "not UTF-8";
}

TEST(PaginationTest, LimitCursorAndNext) {
  auto q = QueryParams::Parse("limit=2&after=0&cursor=7");
  ASSERT_TRUE(q.ok());
  auto page = q->Page("cursor");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->limit, 2);
  EXPECT_EQ(page->cursor, 7);
  EXPECT_EQ(q->Page("after").status().field(), "after") << "0 is not a positive cursor";
  EXPECT_TRUE(q->Page("after", CursorForm::kNonNegative).ok());
  auto defaults = QueryParams::Parse("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->Page("cursor")->limit, kDefaultPageLimit);
  for (const char* bad : {"limit=0", "limit=1001", "limit=x"}) {
    auto b = QueryParams::Parse(bad);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->Page("cursor").status().field(), "limit") << bad;
  }
  EXPECT_EQ(QueryParams::Parse("a=%zz").status().field(), "a");
  const PageRequest two{2, 0};
  EXPECT_EQ(NextCursor(two, 2, 9), ApiJson("9"));
  EXPECT_EQ(NextCursor(two, 2, 9, CursorJson::kNumber), ApiJson(9));
  EXPECT_TRUE(NextCursor(two, 1, 9).is_null()) << "a short page is the last";
  EXPECT_TRUE(NextCursor(two, 0, 0).is_null());
}

TEST(ErrorMappingTest, OneFunctionForEveryCode) {
  EXPECT_EQ(HttpStatus(Code::kAlreadyExists), 409);
  ApiResponse r = MethodNotAllowed("GET, PUT");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "GET, PUT");
  r = ErrorResponse(Status(Code::kResourceExhausted, "busy"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
}

}  // namespace
}  // namespace qz
