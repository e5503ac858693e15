// The console's files and routes: what is served where, with which headers, and that no path
// reaches a file outside the built console.
#include "server/console.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/testing/server_fixture.hpp"

namespace qz {
namespace {

namespace fs = std::filesystem;
using server_testing::Reply;
using server_testing::Req;

constexpr std::string_view kIndex = "<!doctype html><title>qunzhu</title><div id=app></div>";
constexpr std::string_view kScript = "console.log('qunzhu')";
constexpr std::string_view kGzipped = "\x1f\x8b pretend-gzip";

void Write(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A scratch directory: <tmp>/qz-console-<pid>-<n>/{console/…, secret.txt}.
class ScratchDir {
 public:
  ScratchDir() {
    static int n = 0;
    root_ = fs::temp_directory_path() /
            ("qz-console-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }
  fs::path console() const { return root_ / "console"; }

  // A built console, a secret beside it and a link inside it that points at the secret.
  void MakeBuilt() const {
    Write(console() / "index.html", kIndex);
    Write(console() / "assets" / "index-3f2a1b.js", kScript);
    Write(console() / "assets" / "index-3f2a1b.js.gz", kGzipped);
    Write(console() / "assets" / "index-9c8d7e.css", "body{}");
    Write(console() / "favicon.svg", "<svg/>");
    Write(console() / ".DS_Store", "junk");
    Write(root_ / "secret.txt", "the secret");
    fs::create_symlink(root_ / "secret.txt", console() / "assets" / "link.txt");
  }

 private:
  fs::path root_;
};

TEST(ConsoleFilesTest, LoadsRegularFilesWithTheirGzipVariantsAndSkipsLinks) {
  ScratchDir dir;
  dir.MakeBuilt();
  auto console = ConsoleFiles::Load(dir.console().string());
  ASSERT_TRUE(console.ok()) << console.status().ToString();
  EXPECT_TRUE((*console)->built());
  EXPECT_EQ((*console)->file_count(), 4u) << "index, script, style, favicon";
  const ConsoleFile* script = (*console)->Find("assets/index-3f2a1b.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->body, kScript);
  EXPECT_EQ(script->gzip, kGzipped);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script->etag.size(), 18u);
  EXPECT_EQ((*console)->Find("assets/index-3f2a1b.js.gz"), nullptr) << "a variant, not a file";
  EXPECT_EQ((*console)->Find("assets/link.txt"), nullptr) << "links are not followed";
  EXPECT_EQ((*console)->Find(".DS_Store"), nullptr);
  EXPECT_EQ((*console)->Find("../secret.txt"), nullptr);
}

TEST(ConsoleFilesTest, AMissingDirectoryIsNotBuiltAndAFileIsAnError) {
  ScratchDir dir;
  auto missing = ConsoleFiles::Load((dir.root() / "nothing").string());
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE((*missing)->built());
  Write(dir.root() / "file", "x");
  auto file = ConsoleFiles::Load((dir.root() / "file").string());
  EXPECT_EQ(file.status().field(), "--console");
  Write(dir.root() / "no-index" / "assets" / "a.js", "x");
  auto no_index = ConsoleFiles::Load((dir.root() / "no-index").string());
  ASSERT_TRUE(no_index.ok());
  EXPECT_FALSE((*no_index)->built());
}

TEST(ConsoleInternalTest, ContentTypesAndAcceptEncoding) {
  using console_internal::AcceptsGzip;
  using console_internal::ContentTypeFor;
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/a-1.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("assets/font.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeFor("LICENSE"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("a.b/c"), "application/octet-stream");
  EXPECT_TRUE(AcceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(AcceptsGzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip; q=0.000"));
  EXPECT_TRUE(AcceptsGzip("gzip;q=0.1"));
  EXPECT_FALSE(AcceptsGzip("x-gzip-not"));
}

class ConsoleRoutesTest : public server_testing::ServerFixture {
 protected:
  Status AddRoutes(RouteTable& table) override {
    auto console = ConsoleFiles::Load(dir_.console().string());
    if (!console.ok()) return console.status();
    return AddConsoleRoutes(table, *console);
  }
  // An anonymous GET (no token, no cookie): the console is public.
  Reply Anonymous(const std::string& target,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    Req q;
    q.target = target;
    q.token.clear();
    q.headers = std::move(headers);
    return Send(q);
  }
  static std::string Header(const Reply& r, std::string_view name) {
    return r.raw[name];
  }
  static void ExpectPage(const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.raw.body();
    EXPECT_EQ(r.raw.body(), kIndex);
    EXPECT_EQ(Header(r, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
    EXPECT_NE(Header(r, "Content-Security-Policy").find("script-src 'self';"), std::string::npos);
    EXPECT_NE(Header(r, "Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(Header(r, "X-Frame-Options"), "DENY");
    EXPECT_EQ(Header(r, "Referrer-Policy"), "same-origin");
  }

  ScratchDir dir_;
};

TEST_F(ConsoleRoutesTest, ThePageIsServedAtTheRootAndTheAppsRoutes) {
  dir_.MakeBuilt();
  StartServer();
  for (const char* target : {"/", "/groups", "/sign-in", "/members/12", "/groups?community=1"}) {
    SCOPED_TRACE(target);
    ExpectPage(Anonymous(target));
  }
  // A trailing slash makes an empty segment: not a page path (the app never links one).
  EXPECT_EQ(Anonymous("/groups/").status, 401);
  const Reply index = Anonymous("/index.html");
  ExpectPage(index);
  // Revalidation: the same ETag is 304 without a body.
  const Reply again = Anonymous("/", {{"If-None-Match", Header(index, "ETag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.raw.body().empty());
  EXPECT_EQ(Anonymous("/", {{"If-None-Match", "\"other\""}}).status, 200);
}

TEST_F(ConsoleRoutesTest, AssetsAreImmutableAndGzippedForClientsThatAcceptIt) {
  dir_.MakeBuilt();
  StartServer();
  const Reply plain = Anonymous("/assets/index-3f2a1b.js");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.raw.body(), kScript);
  EXPECT_EQ(Header(plain, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(plain, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(plain, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(plain, "Vary"), "Accept-Encoding");
  EXPECT_TRUE(Header(plain, "Content-Encoding").empty());
  EXPECT_TRUE(Header(plain, "Content-Security-Policy").empty()) << "only HTML gets the policy";
  const Reply gz = Anonymous("/assets/index-3f2a1b.js", {{"Accept-Encoding", "gzip, br"}});
  EXPECT_EQ(gz.raw.body(), kGzipped);
  EXPECT_EQ(Header(gz, "Content-Encoding"), "gzip");
  const Reply css = Anonymous("/assets/index-9c8d7e.css", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(css.raw.body(), "body{}") << "no variant: sent as is";
  EXPECT_EQ(Header(css, "Content-Type"), "text/css; charset=utf-8");
  const Reply icon = Anonymous("/favicon.svg");
  EXPECT_EQ(icon.status, 200);
  EXPECT_EQ(Header(icon, "Cache-Control"), "no-cache") << "not named by a hash";
}

TEST_F(ConsoleRoutesTest, NoPathReachesAFileOutsideTheConsole) {
  dir_.MakeBuilt();
  StartServer();
  for (const char* target :
       {"/assets/..%2F..%2Fsecret.txt", "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/assets/%2E%2E%2Fsecret.txt", "/assets/..%5C..%5Csecret.txt", "/assets/..",
        "/assets/%2e%2e", "/assets/link.txt", "/assets/index-3f2a1b.js.gz",
        "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/..", "/%2e%2e/secret.txt",
        "/assets/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/..%2F..%2Fetc%2Fpasswd",
        "/nope.js", "/groups/app.js", "/.DS_Store", "/assets"}) {
    SCOPED_TRACE(target);
    const Reply r = Anonymous(target);
    EXPECT_EQ(r.status, 404) << r.raw.body();
    EXPECT_EQ(r.raw.body().find("the secret"), std::string::npos);
    EXPECT_EQ(r.raw.body().find("root:"), std::string::npos);
  }
  // Dot segments as sent (browsers resolve them first): not a console path at all, so the
  // API's rule answers: 401 without credentials, 404 with them; never a file.
  for (const char* target : {"/assets/../../etc/passwd", "/assets/../../secret.txt",
                             "/assets/./../secret.txt", "/../../../../etc/passwd"}) {
    SCOPED_TRACE(target);
    const Reply anonymous = Anonymous(target);
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(anonymous.raw.body().find("root:"), std::string::npos);
    const Reply signed_in = Get(target);
    EXPECT_EQ(signed_in.status, 404);
    EXPECT_EQ(signed_in.raw.body().find("root:"), std::string::npos);
  }
}

TEST_F(ConsoleRoutesTest, TheServersPathsNeverFallBackToThePage) {
  dir_.MakeBuilt();
  StartServer();
  for (const char* target : {"/api", "/api/v1", "/api/nope", "/webhooks", "/webhooks/nope",
                             "/j", "/assets/nope.js"}) {
    SCOPED_TRACE(target);
    const Reply r = Anonymous(target);
    ExpectError(r, 404, "not_found");
    EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  }
  // The API keeps its rules: authentication first, then 404.
  ExpectError(Anonymous("/api/v1/nope"), 401, "unauthenticated");
  ExpectError(Get("/api/v1/nope"), 404, "not_found");
  ExpectError(Anonymous("/api/v1/stats"), 401, "unauthenticated");
  EXPECT_EQ(Get("/api/v1/stats").status, 200);
  ExpectError(Anonymous("/metrics"), 401, "unauthenticated");
  EXPECT_EQ(Anonymous("/healthz").status, 200);
  // The page is read-only.
  Req post;
  post.method = "POST";
  post.target = "/groups";
  post.token.clear();
  EXPECT_EQ(Send(post).status, 405);
}

TEST_F(ConsoleRoutesTest, WithoutABuiltConsoleThePageSaysHowToBuildIt) {
  StartServer();  // dir_ has no console
  for (const char* target : {"/", "/groups", "/members/3"}) {
    SCOPED_TRACE(target);
    const Reply r = Anonymous(target);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(Header(r, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_NE(r.raw.body().find("not built"), std::string::npos);
    EXPECT_NE(r.raw.body().find("./qz build"), std::string::npos);
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  }
  ExpectError(Anonymous("/assets/index.js"), 404, "not_found");
  ExpectError(Anonymous("/api/v1"), 404, "not_found");
}

}  // namespace
}  // namespace qz
