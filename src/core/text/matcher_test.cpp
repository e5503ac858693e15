#include "core/text/matcher.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace qz::text
