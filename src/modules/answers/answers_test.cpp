// The answers module's parts: FAQ matching after normalisation (contains, exact, regex, entry
// order), question detection, and the playbook section's errors.
#include "modules/answers/answers.hpp"

#include <gtest/gtest.h>

#include "core/text/normalize.hpp"

namespace qz {
namespace {

std::string N(std::string_view s) { return text::Normalizer::Default().Normalize(s).text; }

FaqEntry Entry(FaqEntry::Match match, std::vector<std::string> keywords, std::string source) {
  FaqEntry e;
  e.match = match;
  e.keywords = std::move(keywords);
  e.answer.zh = "答";
  e.source = std::move(source);
  return e;
}

TEST(Faq, MatchesAfterNormalisationAndPrefersTheFirstEntry) {
  auto set = FaqSet::Compile({Entry(FaqEntry::Match::kContains, {"上课时间", "幾點上課"}, "a"),
                              Entry(FaqEntry::Match::kExact, {"作业"}, "b"),
                              Entry(FaqEntry::Match::kRegex, {"第[0-9]+天.*打卡"}, "c"),
                              Entry(FaqEntry::Match::kContains, {"上课"}, "d")});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const FaqSet& faq = **set;
  EXPECT_EQ(faq.Match(N("请问几点上课呀")), 0);       // traditional keyword, simplified message
  EXPECT_EQ(faq.Match(N("上课 时间是？")), 0);        // separator inside the keyword
  EXPECT_EQ(faq.Match(N("上课去")), 3);
  EXPECT_EQ(faq.Match(N("作业")), 1);
  EXPECT_EQ(faq.Match(N("作业交了")), -1);            // exact: the whole message only
  EXPECT_EQ(faq.Match(N("第３天怎么打卡")), 2);        // full-width digit
  EXPECT_EQ(faq.Match(N("今天天气不错")), -1);
}

TEST(Faq, ABadRegexNamesItsEntry) {
  auto set = FaqSet::Compile({Entry(FaqEntry::Match::kRegex, {"(unclosed"}, "answers.faq[0]")});
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("answers.faq[0].keywords[0]"), std::string::npos)
      << set.status().message();
}

TEST(Question, DetectsChineseAndEnglishQuestions) {
  for (std::string_view q : {"这个怎么弄", "明天几点开始", "有人知道吗", "作业交了吗～", "是不是要先报名",
                             "How do I join the camp", "can someone help", "Is it free?", "在哪里下载？"}) {
    EXPECT_TRUE(IsQuestion(N(q))) << q;
  }
  for (std::string_view s : {"好的收到", "谢谢老师", "今天打卡完成", "I am here", "哈哈哈", ""}) {
    EXPECT_FALSE(IsQuestion(N(s))) << s;
  }
}

}  // namespace
}  // namespace qz
