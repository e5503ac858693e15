#include "modules/example/example.hpp"

#include <gtest/gtest.h>

#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

TEST(Example, RepliesAndCountsPingsPerMember) {
  auto module = MakeExampleModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook("[community]\nslug = \"c\"\n[example]\nreply = \"pong\"\n").ok());
  ctx.SetMember("u1", "alice");
  ctx.mutable_event().type = EventType::kMessage;
  ctx.mutable_event().id = "m0";
  ctx.mutable_event().text = "!ping";
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty()) << "a private chat (no group) gets no reply in a group";
  ctx.mutable_event().platform = "sandbox";
  ctx.mutable_event().group = "g1";
  ctx.mutable_event().id = "m1";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ctx.mutable_event().id = "m2";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ASSERT_EQ(ctx.actions().size(), 2u);
  EXPECT_EQ(ctx.actions()[1].rule, "example.reply");
  EXPECT_EQ(ctx.actions()[1].action.type, ActionType::kReply);
  EXPECT_EQ(ctx.actions()[1].action.reply_to, "m2");
  EXPECT_EQ(ctx.actions()[1].action.text, "pong (#2)");
  const auto ping = ctx.Find(Ping{.member = ctx.member()->id});
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ(ping->count, 2);
  EXPECT_EQ(ping->last, ctx.event().time);
  ASSERT_EQ(ctx.rows().size(), 1u);
  EXPECT_EQ(ctx.rows().begin()->first.second, "[1]");
  EXPECT_EQ(ctx.rows().begin()->second, R"({"count":2,"last":1767225600000})");
}

TEST(Example, IgnoresOtherTextsDeletedMessagesAndWhenDisabled) {
  auto module = MakeExampleModule();
  testing::FakeModuleContext ctx(*module);
  ctx.SetMember("u1", "alice");
  ctx.mutable_event().type = EventType::kMessage;
  ctx.mutable_event().text = "!ping";
  ASSERT_TRUE(ctx.Run(*module).ok());  // no playbook: disabled
  ASSERT_TRUE(ctx.UsePlaybook("[community]\nslug = \"c\"\n[example]\n").ok());
  ctx.mutable_event().text = "hello";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ctx.mutable_event().text = "!ping";
  ctx.SetMessageDeleted(true);
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty());
  EXPECT_TRUE(ctx.rows().empty());
}

TEST(ModuleState, RowsRoundTripAndTolerateSchemaChanges) {
  Ping p{.member = 7, .count = 3, .last = 42};
  auto fields = CollectFields(p);
  EXPECT_EQ(EncodeKey(fields), "[7]");
  EXPECT_EQ(EncodeValues(fields), R"({"count":3,"last":42})");
  Ping q{};
  auto qf = CollectFields(q);
  ASSERT_TRUE(DecodeKey("[7]", qf));
  // A field the struct no longer has is ignored; one of another type keeps the default.
  DecodeValues(R"({"count":"three","last":42,"gone":1})", qf);
  EXPECT_EQ(q.member, 7);
  EXPECT_EQ(q.count, 0);
  EXPECT_EQ(q.last, 42);
  EXPECT_FALSE(DecodeKey("[\"x\"]", qf));
  const TableInfo info = DescribeTable<Ping>();
  EXPECT_TRUE(ValidateTable(info).ok());
  ASSERT_EQ(info.fields.size(), 3u);
  EXPECT_TRUE(info.fields[0].key);
  EXPECT_FALSE(ValidateTable(TableInfo{"t", {{"a", FieldType::kInt, false}}}).ok());  // no key
}

}  // namespace
}  // namespace qz
