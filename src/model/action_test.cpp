#include "model/action.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace qz {
namespace {

Action Full() {
  Action a;
  a.type = ActionType::kScheduleTimer;
  a.community_id = 3;
  a.community = "camp";
  a.platform = "sandbox";
  a.group = "g\"1\\";
  a.group_id = 7;
  a.member = "u1";
  a.member_id = 9;
  a.text = "第一行\n\t<b>加油</b>";
  a.reply_to = "m1";
  a.duration_s = 3600;
  a.tag = "vip";
  a.remove_tag = true;
  a.points = -5;
  a.timer = "remind";
  a.due = 1772323200000;
  a.payload = R"({"step": 2, "list": [1, "二"]})";
  a.evidence = "event sandbox:m1";
  a.request = "flag-17";
  a.approve = true;
  a.cause_event = "sandbox:m1";
  a.rule = "moderation.text";
  return a;
}

TEST(ActionJsonTest, EveryFieldRoundTrips) {
  const Action a = Full();
  const std::string json = ActionToJson(a);
  auto back = ActionFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " in " << json;
  Action expected = a;
  expected.payload = R"({"list":[1,"二"],"step":2})";  // embedded as minified JSON
  EXPECT_EQ(*back, expected);
  EXPECT_TRUE(nlohmann::json::accept(json));
}

TEST(ActionJsonTest, EmptyFieldsAreLeftOut) {
  Action a;
  a.type = ActionType::kDeleteMessage;
  a.reply_to = "m1";
  EXPECT_EQ(ActionToJson(a), R"({"type":"delete_message","reply_to":"m1"})");
}

TEST(ActionJsonTest, InvalidUtf8BecomesReplacementCharacters) {
  Action a;
  a.type = ActionType::kSendMessage;
  a.text = std::string("ok\xff\xfe") + "好" + std::string("\xe5\xa5");  // stray bytes, a cut character
  const std::string json = ActionToJson(a);
  ASSERT_TRUE(nlohmann::json::accept(json)) << json;
  auto back = ActionFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->text, "ok\xEF\xBF\xBD\xEF\xBF\xBD好\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ActionJsonTest, APayloadThatIsNotJsonDoesNotParseBack) {
  Action a;
  a.type = ActionType::kScheduleTimer;
  a.payload = "{not json";
  EXPECT_FALSE(ActionFromJson(ActionToJson(a)).ok());
}

}  // namespace
}  // namespace qz
