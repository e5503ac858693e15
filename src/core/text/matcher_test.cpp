#include "core/text/matcher.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace qz::text {
namespace {

Pattern Lit(std::string s) { return Pattern{Pattern::Kind::kLiteral, std::move(s), 0, true, "test"}; }
Pattern Re(std::string s) { return Pattern{Pattern::Kind::kRegex, std::move(s), 0, true, "re.tsv:7"}; }

TEST(Matcher, ReportsEveryLiteralAndRegexWithItsSpan) {
  std::vector<Pattern> p = {Lit("加微信"), Lit("QQ"), Re("1[3-9][0-9]{9}")};
  auto db = MatcherDatabase::Compile(p);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::vector<Match> m;
  const std::string text = "请加微信13812345678或qq";
  (*db)->Scan(text, m);
  ASSERT_EQ(m.size(), 3u);  // the regex once, with its whole span
  EXPECT_EQ(m[0].pattern, 0u);
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), "加微信");
  EXPECT_EQ(m[1].pattern, 2u);
  EXPECT_EQ(text.substr(m[1].begin, m[1].end - m[1].begin), "13812345678");
  EXPECT_EQ(m[2].pattern, 1u);  // caseless
  EXPECT_EQ((*db)->size(), 3u);
  EXPECT_GT((*db)->memory_bytes(), 0u);
}

TEST(Matcher, ARegexReportsItsFirstMatchWithItsLeftmostStart) {
  std::vector<Pattern> p = {Re("https?://[a-z.]+"), Lit("ab")};
  auto db = MatcherDatabase::Compile(p);
  ASSERT_TRUE(db.ok());
  std::vector<Match> m;
  const std::string text = "xab see http://x.org and https://y.com ab";
  (*db)->Scan(text, m);
  ASSERT_EQ(m.size(), 2u);  // each pattern once
  EXPECT_EQ(m[0].pattern, 1u);
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), "ab");
  EXPECT_EQ(m[1].pattern, 0u);
  EXPECT_EQ(text.substr(m[1].begin, m[1].end - m[1].begin), "http://x");
}

TEST(Matcher, EmptyDatabaseMatchesNothingAndBadRegexNamesItsSource) {
  auto empty = MatcherDatabase::Compile({});
  ASSERT_TRUE(empty.ok());
  std::vector<Match> m;
  (*empty)->Scan("anything", m);
  EXPECT_TRUE(m.empty());
  std::vector<Pattern> bad = {Lit("ok"), Re("(unclosed")};
  auto r = MatcherDatabase::Compile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("re.tsv:7"), std::string::npos) << r.status().message();
}

TEST(Matcher, ScansAnyBytesFromSeveralThreads) {
  std::vector<Pattern> p = {Lit("ab"), Re("b+c")};
  auto db = MatcherDatabase::Compile(p);
  ASSERT_TRUE(db.ok());
  auto other = MatcherDatabase::Compile(std::vector<Pattern>{Lit("zz")});
  ASSERT_TRUE(other.ok());
  std::vector<std::thread> threads;
  std::atomic<int> total{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        std::vector<Match> m;
        (*db)->Scan(std::string("xxabbbc\xff\x00", 9), m);
        (*other)->Scan("zz", m);
        total += static_cast<int>(m.size());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(total.load(), 4 * 1000 * 3);  // ab, bbbc, zz
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Matcher, CompileCachedWritesOnceThenLoadsAndRecompilesADamagedFile) {
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / "qz-matcher-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string cache = dir + "/cache";  // created on first use
  std::vector<Pattern> p = {Lit("加微信"), Lit("QQ"), Re("1[3-9][0-9]{9}")};
  const std::string text = "请加微信13812345678或qq";
  auto scan = [&](const MatcherDatabase& db) {
    std::vector<Match> m;
    db.Scan(text, m);
    std::string out;
    for (const Match& x : m) out += fmt::format("{}:{}-{} ", x.pattern, x.begin, x.end);
    return out;
  };
  const std::string expected = scan(**MatcherDatabase::Compile(p));
  ASSERT_EQ(expected, "0:3-12 2:12-23 1:26-28 ");

  auto first = MatcherDatabase::CompileCached(p, cache);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(scan(**first), expected);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cache)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u) << "one file, no temporary left behind";
  const std::string bytes = ReadAll(files[0]);
  const auto written = fs::last_write_time(files[0]);

  // Loaded, not compiled and written again: the same matches, the file untouched.
  auto second = MatcherDatabase::CompileCached(p, cache);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(scan(**second), expected);
  EXPECT_EQ((*second)->memory_bytes(), (*first)->memory_bytes());
  EXPECT_EQ(fs::last_write_time(files[0]), written);

  // A damaged file (one byte flipped, or cut short) is compiled again and rewritten.
  for (size_t cut : {size_t{0}, size_t{40}}) {
    std::string bad = bytes;
    if (cut == 0) {
      bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
    } else {
      bad.resize(cut);
    }
    std::ofstream(files[0], std::ios::binary | std::ios::trunc) << bad;
    auto again = MatcherDatabase::CompileCached(p, cache);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(scan(**again), expected);
    EXPECT_EQ(ReadAll(files[0]), bytes) << "rewritten whole";
  }

  // Another pattern set has a file of its own; a bad pattern is still an error; no cache dir
  // (or one that cannot be written) just compiles.
  std::vector<Pattern> other = {Lit("加微信")};
  ASSERT_TRUE(MatcherDatabase::CompileCached(other, cache).ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 2);
  EXPECT_FALSE(MatcherDatabase::CompileCached(std::vector<Pattern>{Re("(unclosed")}, cache).ok());
  EXPECT_EQ(scan(**MatcherDatabase::CompileCached(p, "")), expected);
  EXPECT_EQ(scan(**MatcherDatabase::CompileCached(p, "/proc/qz-no-such-dir")), expected);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qz::text
