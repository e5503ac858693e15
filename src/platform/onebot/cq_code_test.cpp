#include "platform/onebot/cq_code.hpp"

#include <gtest/gtest.h>

namespace qz::onebot {
namespace {

CqSegment Text(std::string t) { return {"text", {{"text", std::move(t)}}}; }

TEST(CqCode, ParsesTextAndCodesInOrder) {
  const auto segs = ParseCq(
      "hi[CQ:at,qq=123] [CQ:image,file=a.jpg,url=https://gchat.qpic.cn/x?a=1&amp;b=2]&#91;x&#93;");
  ASSERT_EQ(segs.size(), 5u);
  EXPECT_EQ(segs[0], Text("hi"));
  EXPECT_EQ(segs[1].type, "at");
  EXPECT_EQ(segs[1].Get("qq"), "123");
  EXPECT_EQ(segs[2], Text(" "));
  EXPECT_EQ(segs[3].type, "image");
  EXPECT_EQ(segs[3].Get("file"), "a.jpg");
  EXPECT_EQ(segs[3].Get("url"), "https://gchat.qpic.cn/x?a=1&b=2");
  EXPECT_EQ(segs[4], Text("[x]"));
  EXPECT_EQ(segs[3].Get("missing"), "");
}

TEST(CqCode, UnescapesCommaOnlyInsideParameters) {
  const auto segs = ParseCq("a&#44;b[CQ:share,url=https://e.com/?q=1&#44;2,title=x&#91;y&#93;]");
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0], Text("a&#44;b"));
  EXPECT_EQ(segs[1].Get("url"), "https://e.com/?q=1,2");
  EXPECT_EQ(segs[1].Get("title"), "x[y]");
}

TEST(CqCode, UnescapeIsOnePass) {
  EXPECT_EQ(UnescapeCqText("&amp;#91;"), "&#91;");
  EXPECT_EQ(UnescapeCqText("&amp;amp;"), "&amp;");
  EXPECT_EQ(UnescapeCqText("&lt; & &#9"), "&lt; & &#9");  // unknown sequences stay
  EXPECT_EQ(UnescapeCqParam("&#44;&amp;&#91;&#93;"), ",&[]");
}

TEST(CqCode, EscapesTextAndParams) {
  EXPECT_EQ(EscapeCqText("a&b[c],d"), "a&amp;b&#91;c&#93;,d");
  EXPECT_EQ(EscapeCqParam("a&b[c],d"), "a&amp;b&#91;c&#93;&#44;d");
  for (const std::string s : {"", "&#91;", "[CQ:at,qq=1]", "&amp;,&"}) {
    EXPECT_EQ(UnescapeCqText(EscapeCqText(s)), s);
    EXPECT_EQ(UnescapeCqParam(EscapeCqParam(s)), s);
  }
}

TEST(CqCode, MalformedCodesStayText) {
  // Unterminated.
  EXPECT_EQ(ParseCq("x [CQ:at,qq=1"), std::vector<CqSegment>{Text("x [CQ:at,qq=1")});
  // Empty type, odd type, a parameter without '=', an empty key, a trailing comma.
  for (const std::string bad :
       {"[CQ:]", "[CQ:,qq=1]", "[CQ:a t,qq=1]", "[CQ:at,qq]", "[CQ:at,=1]", "[CQ:face,id=1,]"}) {
    EXPECT_EQ(ParseCq("a" + bad + "b"), std::vector<CqSegment>{Text("a" + bad + "b")}) << bad;
  }
  // A '[' before the ']': the first candidate is text, the inner one a code.
  const auto segs = ParseCq("[CQ:at,qq=[CQ:face,id=5]");
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0], Text("[CQ:at,qq="));
  EXPECT_EQ(segs[1].type, "face");
  EXPECT_EQ(segs[1].Get("id"), "5");
  // Malformed text is still unescaped like other text.
  EXPECT_EQ(ParseCq("&#91;[CQ:"), std::vector<CqSegment>{Text("[[CQ:")});
}

TEST(CqCode, CodeDetailsFollowTheSpec) {
  // Split at the first '=': values may hold '='.
  auto segs = ParseCq("[CQ:image,file=base64://AAA=,url=]");
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].Get("file"), "base64://AAA=");
  EXPECT_EQ(segs[0].Get("url"), "");
  EXPECT_TRUE(segs[0].data.contains("url"));
  // No parameters; a repeated key keeps its first value.
  segs = ParseCq("[CQ:shake][CQ:at,qq=1,qq=2]");
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].type, "shake");
  EXPECT_TRUE(segs[0].data.empty());
  EXPECT_EQ(segs[1].Get("qq"), "1");
  // A text code is text, merged with its neighbours.
  EXPECT_EQ(ParseCq("a[CQ:text,text=b&#44;c]d"), std::vector<CqSegment>{Text("ab,cd")});
  EXPECT_TRUE(ParseCq("").empty());
}

TEST(CqCode, WritesTheStringForm) {
  const std::vector<CqSegment> segs = {
      Text("see [1], a&b"),
      {"at", {{"qq", "123"}}},
      {"share", {{"url", "https://e.com/?a=1,2"}, {"title", "t[x]"}}},
  };
  const std::string cq = ToCq(segs);
  EXPECT_EQ(cq,
            "see &#91;1&#93;, a&amp;b[CQ:at,qq=123]"
            "[CQ:share,title=t&#91;x&#93;,url=https://e.com/?a=1&#44;2]");
  EXPECT_EQ(ParseCq(cq), segs);
}

}  // namespace
}  // namespace qz::onebot
