#include "core/toml_reader.hpp"

#include <gtest/gtest.h>

namespace qz {
namespace {

toml::table Parse(std::string_view text) {
  auto t = ParseToml(text, "t.toml", 1 << 20);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(*t) : toml::table{};
}

TEST(TableReader, ReadsTypedValuesAndRejectsUnknownKeysWithPathAndLine) {
  const toml::table root = Parse("[s]\nname = \"x\"\ncount = 3\nflag = true\nextra = 1\n");
  ConfigProblems problems("t.toml");
  TableReader r(*root["s"].as_table(), "s", problems);
  std::string name;
  int64_t count = 0;
  bool flag = false;
  EXPECT_TRUE(r.String("name", name));
  EXPECT_TRUE(r.Int("count", count, 0, 10));
  EXPECT_TRUE(r.Bool("flag", flag));
  std::string absent = "kept";
  EXPECT_FALSE(r.String("absent", absent));
  EXPECT_EQ(absent, "kept");
  r.Done();
  EXPECT_EQ(name, "x");
  EXPECT_EQ(count, 3);
  EXPECT_TRUE(flag);
  const Status st = problems.ToStatus();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.field(), "s.extra");
  EXPECT_NE(st.message().find("t.toml:5: s.extra: unknown key (expected one of: name, count, "
                              "flag, absent)"),
            std::string::npos)
      << st.message();
}

TEST(TableReader, ReportsWrongTypesAndRangesInDocumentOrder) {
  const toml::table root = Parse("b = \"no\"\na = 99\n");
  ConfigProblems problems("t.toml");
  TableReader r(root, "", problems);
  int64_t a = 0;
  bool b = false;
  EXPECT_FALSE(r.Int("a", a, 0, 10));
  EXPECT_FALSE(r.Bool("b", b));
  r.Done();
  const Status st = problems.ToStatus();
  EXPECT_EQ(st.message(),
            "t.toml:1: b: expected a boolean (true or false), got a string\n"
            "t.toml:2: a: 99 is out of range (0 to 10)");
  EXPECT_EQ(st.field(), "b");
}

TEST(TableReader, StringListNamesTheBadElement) {
  const toml::table root = Parse("l = [\"a\", 2]\n");
  ConfigProblems problems("t.toml");
  TableReader r(root, "x", problems);
  std::vector<std::string> l;
  EXPECT_FALSE(r.StringList("l", l));
  EXPECT_EQ(problems.ToStatus().field(), "x.l[1]");
}

TEST(ParseToml, SyntaxErrorNamesLineAndColumn) {
  auto t = ParseToml("a = \n", "f.toml", 100);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().rfind("f.toml:1:", 0), 0u) << t.status().message();
  EXPECT_FALSE(ParseToml(std::string(200, '#'), "f.toml", 100).ok());
}

}  // namespace
}  // namespace qz
