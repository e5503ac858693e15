// Module rows' stored form: every field type round-trips, including text that needs escaping, and
// the tolerance rules hold whether the fast reader or the full JSON parser reads the row.
#include "engine/module_state.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace qz {
namespace {

struct Row {
  std::string id;
  int64_t n = -1;
  double x = -1;
  bool flag = false;
  std::string text = "default";
  template <class V>
  void Fields(V& v) {
    v.Key("id", id);
    v.Value("n", n);
    v.Value("x", x);
    v.Value("flag", flag);
    v.Value("text", text);
  }
};

Row Decode(std::string_view values) {
  Row r;
  DecodeValues(values, CollectFields(r));
  return r;
}

TEST(ModuleState, EveryTypeRoundTrips) {
  for (const std::string& text :
       {std::string("plain"), std::string("引号\"反斜杠\\ 换行\n制表\t"), std::string("\x01\x1f control"),
        std::string("emoji 😀 and 加微信"), std::string()}) {
    Row in{.id = "k", .n = std::numeric_limits<int64_t>::min(), .x = -2.5e-3, .flag = true, .text = text};
    const std::string stored = EncodeValues(CollectFields(in));
    const Row out = Decode(stored);
    EXPECT_EQ(out.n, in.n) << stored;
    EXPECT_DOUBLE_EQ(out.x, in.x) << stored;
    EXPECT_EQ(out.flag, in.flag) << stored;
    EXPECT_EQ(out.text, in.text) << stored;
  }
}

TEST(ModuleState, ToleranceIsTheSameOnBothPaths) {
  // Fast path: a value of another type keeps the default, an unknown field is ignored, an
  // integer is a fine real.
  Row a = Decode(R"({"n":"seven","x":3,"flag":1,"text":5,"gone":[1,2]})");
  EXPECT_EQ(a.n, -1);
  EXPECT_DOUBLE_EQ(a.x, 3.0);
  EXPECT_FALSE(a.flag);
  EXPECT_EQ(a.text, "default");
  // \u escapes and nested values go to the full parser, with the same rules.
  Row b = Decode(R"({"n":4,"text":"\u52a0\u5fae\u4fe1 \ud83d\ude00","nested":{"a":1}})");
  EXPECT_EQ(b.n, 4);
  EXPECT_EQ(b.text, "加微信 😀");
  // A malformed row leaves every field at its default (nothing half set).
  for (std::string_view bad : {R"({"n":4,"x":)", R"({"n":4,"text":"open)", R"({"n":+4})", "[1]", "",
                               R"({"n":4} trailing)", R"({"n":99999999999999999999})"}) {
    const Row r = Decode(bad);
    EXPECT_EQ(r.n, -1) << bad;
    EXPECT_EQ(r.text, "default") << bad;
  }
}

}  // namespace
}  // namespace qz
