// The Telegram translation layer against payloads shaped as the Bot API documents them
// (core.telegram.org/bots/api: Update, Message, MessageEntity, ChatMemberUpdated, ChatInviteLink,
// ChatJoinRequest). The outbound half is telegram_calls_test.cpp's.
#include "platform/telegram/telegram_protocol.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace qz::telegram {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int64_t kDate = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t kBot = 999;          // the bot the updates are for (QunzhuBot below)

// Every event the layer makes must be one ingest accepts, unchanged by a round trip.
void ExpectValidEvent(const Event& e) {
  EventParser parser;
  const std::string json = EventToJson(e);
  auto back = parser.Parse(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " in " << json;
  EXPECT_EQ(EventToJson(*back), json);
}

ParsedUpdate One(std::string_view body) {
  ParsedUpdate u = ParseWebhookUpdate(body, kBot);
  EXPECT_TRUE(u.error.ok()) << u.error.ToString();
  for (const Event& e : u.events) ExpectValidEvent(e);
  return u;
}

// ---- Messages ----

// "👋 hi @alice, see https://example.com or click here": the emoji is 2 UTF-16 units (4 bytes),
// so @alice is at unit 6, the URL at 18 (19 long), "here" at 47.
constexpr std::string_view kTextMessage = R"({"update_id": 900001, "message": {
  "message_id": 42,
  "from": {"id": 111, "is_bot": false, "first_name": "Alice", "last_name": "Smith",
           "username": "alice_s", "language_code": "en"},
  "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
  "date": 1767225600,
  "reply_to_message": {"message_id": 41, "from": {"id": 222, "is_bot": false, "first_name": "Bob"},
                       "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
                       "date": 1767225500, "text": "hello"},
  "text": "👋 hi @alice, see https://example.com or click here",
  "entities": [
    {"type": "mention", "offset": 6, "length": 6},
    {"type": "url", "offset": 18, "length": 19},
    {"type": "text_link", "offset": 47, "length": 4, "url": "https://evil.example/join?x=1"},
    {"type": "text_mention", "offset": 0, "length": 2,
     "user": {"id": 333, "is_bot": false, "first_name": "Carol"}},
    {"type": "bold", "offset": 3, "length": 2}
  ]}})";

TEST(TelegramUpdates, TextMessageWithEntitiesCountedInUtf16) {
  const ParsedUpdate u = One(kTextMessage);
  EXPECT_EQ(u.update_id, 900001);
  ASSERT_EQ(u.events.size(), 1u);
  const Event& e = u.events[0];
  EXPECT_EQ(e.id, "-1001234567890:42");
  EXPECT_EQ(e.type, EventType::kMessage);
  EXPECT_EQ(e.platform, "telegram");
  EXPECT_EQ(e.group, "-1001234567890");
  EXPECT_EQ(e.group_name, "Spring Camp 2026");
  EXPECT_EQ(e.member, "111");
  EXPECT_EQ(e.name, "Alice Smith");
  EXPECT_EQ(e.time, kDate * 1000);
  EXPECT_EQ(e.kind, MessageKind::kLink);
  EXPECT_EQ(e.text, "👋 hi @alice, see https://example.com or click here");
  EXPECT_THAT(e.mentions, ElementsAre("@alice", "333"));
  EXPECT_EQ(e.reply_to, "-1001234567890:41");
  EXPECT_EQ(Json::parse(e.attrs), Json::parse(R"({"links":["https://evil.example/join?x=1"]})"));
  EXPECT_FALSE(IsDirectMessage(e));
}

TEST(TelegramUpdates, PhotoWithCaptionIsAnImageWithTheCaptionAsText) {
  const ParsedUpdate u = One(R"({"update_id": 900002, "message": {
    "message_id": 43, "date": 1767225601,
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
    "photo": [{"file_id": "AgAD1", "file_unique_id": "u1", "width": 90, "height": 67, "file_size": 1200},
              {"file_id": "AgAD2", "file_unique_id": "u2", "width": 1280, "height": 960, "file_size": 98000}],
    "caption": "加我微信 @bob_cn 领资料",
    "caption_entities": [{"type": "mention", "offset": 5, "length": 7}]}})");
  ASSERT_EQ(u.events.size(), 1u);
  const Event& e = u.events[0];
  EXPECT_EQ(e.kind, MessageKind::kImage);
  EXPECT_EQ(e.text, "加我微信 @bob_cn 领资料");
  EXPECT_THAT(e.mentions, ElementsAre("@bob_cn"));
  EXPECT_EQ(e.name, "Alice");
  EXPECT_EQ(e.attrs, "{}");
}

TEST(TelegramUpdates, MediaKinds) {
  const auto kind_of = [](std::string_view content) {
    const std::string body = fmt::format(
        R"({{"update_id": 1, "message": {{"message_id": 5, "date": 1767225600,
          "from": {{"id": 7, "is_bot": false, "first_name": "X"}},
          "chat": {{"id": -100, "title": "G", "type": "group"}}, {}}}}})",
        content);
    const ParsedUpdate u = One(body);
    EXPECT_EQ(u.events.size(), 1u) << content;
    return u.events.empty() ? MessageKind::kText : u.events[0].kind;
  };
  EXPECT_EQ(kind_of(R"("text": "plain")"), MessageKind::kText);
  EXPECT_EQ(kind_of(R"("document": {"file_id": "d"})"), MessageKind::kFile);
  // An animation also carries `document` for old clients: it is still an animation.
  EXPECT_EQ(kind_of(R"("animation": {"file_id": "a"}, "document": {"file_id": "a"})"),
            MessageKind::kOther);
  EXPECT_EQ(kind_of(R"("sticker": {"file_id": "s", "type": "regular"})"), MessageKind::kOther);
  EXPECT_EQ(kind_of(R"("location": {"latitude": 31.2, "longitude": 121.5})"), MessageKind::kOther);
  EXPECT_EQ(kind_of(R"("poll": {"id": "p", "question": "?", "options": []})"), MessageKind::kOther);
  EXPECT_EQ(kind_of(R"("dice": {"emoji": "🎲", "value": 3})"), MessageKind::kOther);
  EXPECT_EQ(kind_of(R"("voice": {"file_id": "v", "duration": 3})"), MessageKind::kVoice);
  EXPECT_EQ(kind_of(R"("audio": {"file_id": "a", "duration": 3})"), MessageKind::kVoice);
  EXPECT_EQ(kind_of(R"("video": {"file_id": "v", "duration": 3})"), MessageKind::kVideo);
  EXPECT_EQ(kind_of(R"("video_note": {"file_id": "v", "length": 240})"), MessageKind::kVideo);
  EXPECT_EQ(kind_of(R"("contact": {"phone_number": "+8613800000000", "first_name": "Z"})"),
            MessageKind::kCard);
}

TEST(TelegramUpdates, EditedMessageIsItsOwnEventAtTheEditTime) {
  const ParsedUpdate u = One(R"({"update_id": 900003, "edited_message": {
    "message_id": 42, "date": 1767225600, "edit_date": 1767225700,
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
    "text": "fixed typo"}})");
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].id, "-1001234567890:42:e1767225700");
  EXPECT_EQ(u.events[0].time, 1767225700 * int64_t{1000});
  EXPECT_EQ(u.events[0].text, "fixed typo");
  EXPECT_EQ(Json::parse(u.events[0].attrs), Json::parse(R"({"edited":true})"));
}

TEST(TelegramUpdates, PrivateChatIsADirectMessage) {
  const ParsedUpdate u = One(R"({"update_id": 900004, "message": {
    "message_id": 9, "date": 1767225600,
    "from": {"id": 111, "is_bot": false, "first_name": "", "username": "alice_s"},
    "chat": {"id": 111, "first_name": "Alice", "type": "private"},
    "text": "/start camp"}})");
  ASSERT_EQ(u.events.size(), 1u);
  const Event& e = u.events[0];
  EXPECT_TRUE(IsDirectMessage(e));
  EXPECT_EQ(e.group, "");
  EXPECT_EQ(e.group_name, "");
  EXPECT_EQ(e.id, "111:9");
  EXPECT_EQ(e.name, "alice_s");  // no name: the username
}

TEST(TelegramUpdates, ForumTopicRootIsNoReply) {
  const ParsedUpdate u = One(R"({"update_id": 7, "message": {
    "message_id": 80, "message_thread_id": 77, "is_topic_message": true, "date": 1767225600,
    "from": {"id": 111, "is_bot": false, "first_name": "A"},
    "chat": {"id": -1005, "title": "Forum", "type": "supergroup", "is_forum": true},
    "reply_to_message": {"message_id": 77, "date": 1767225000,
                         "chat": {"id": -1005, "type": "supergroup"},
                         "forum_topic_created": {"name": "Q&A", "icon_color": 7322096}},
    "text": "in the topic"}})");
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].reply_to, "");
}

TEST(TelegramUpdates, EntityRangesOutsideTheTextAreSkippedAndHiddenLinksKept) {
  const ParsedUpdate u = One(R"({"update_id": 8, "message": {
    "message_id": 81, "date": 1767225600,
    "from": {"id": 111, "is_bot": false, "first_name": "A"},
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "text": "😀@x",
    "entities": [{"type": "mention", "offset": 1, "length": 2},
                 {"type": "mention", "offset": 2, "length": 99},
                 {"type": "mention", "offset": -3, "length": 2},
                 {"type": "mention", "offset": 9223372036854775807, "length": 9223372036854775807},
                 {"type": "text_link", "offset": 500, "length": 1, "url": "tg://resolve?domain=spam"},
                 {"type": "mention", "offset": 2, "length": 2}]}})");
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_THAT(u.events[0].mentions, ElementsAre("@x"));  // only the one whole range
  EXPECT_EQ(Json::parse(u.events[0].attrs)["links"],
            Json::parse(R"(["tg://resolve?domain=spam"])"));
  EXPECT_EQ(u.events[0].kind, MessageKind::kLink);
}

TEST(TelegramUpdates, MessagesFromBotsAreIgnored) {
  const ParsedUpdate u = One(R"({"update_id": 9, "message": {
    "message_id": 82, "date": 1767225600,
    "from": {"id": 5000, "is_bot": true, "first_name": "OtherBot", "username": "other_bot"},
    "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "text": "beep"}})");
  EXPECT_TRUE(u.events.empty());
  EXPECT_EQ(u.ignored, "from a bot");
}

TEST(TelegramUpdates, OtherUpdateKindsAndServiceMessagesAreIgnoredNotErrors) {
  const ParsedUpdate cb = One(R"({"update_id": 10, "callback_query": {"id": "1",
    "from": {"id": 111, "is_bot": false, "first_name": "A"}, "chat_instance": "c", "data": "x"}})");
  EXPECT_EQ(cb.ignored, "callback_query");
  EXPECT_EQ(cb.update_id, 10);
  const ParsedUpdate title = One(R"({"update_id": 11, "message": {"message_id": 83,
    "date": 1767225600, "from": {"id": 111, "is_bot": false, "first_name": "A"},
    "chat": {"id": -1005, "title": "New", "type": "supergroup"}, "new_chat_title": "New"}})");
  EXPECT_EQ(title.ignored, "service message");
  EXPECT_TRUE(title.events.empty());
}

// ---- Joins and leaves ----

TEST(TelegramUpdates, ServiceJoinOfTwoMembersAddedBySomeoneElse) {
  const ParsedUpdate u = One(R"({"update_id": 900010, "message": {
    "message_id": 50, "date": 1767225600,
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
    "new_chat_participant": {"id": 444, "is_bot": false, "first_name": "Dan"},
    "new_chat_member": {"id": 444, "is_bot": false, "first_name": "Dan"},
    "new_chat_members": [{"id": 444, "is_bot": false, "first_name": "Dan", "last_name": "Li"},
                         {"id": 5001, "is_bot": true, "first_name": "Helper", "username": "helper_bot"}]}})");
  ASSERT_EQ(u.events.size(), 2u);
  EXPECT_EQ(u.events[0].type, EventType::kMemberJoined);
  EXPECT_EQ(u.events[0].id, "join:-1001234567890:444:1767225600");
  EXPECT_EQ(u.events[0].member, "444");
  EXPECT_EQ(u.events[0].name, "Dan Li");
  EXPECT_EQ(u.events[0].via_inviter, "111");
  EXPECT_EQ(u.events[0].attrs, "{}");
  EXPECT_EQ(u.events[1].id, "join:-1001234567890:5001:1767225600");
  EXPECT_EQ(Json::parse(u.events[1].attrs), Json::parse(R"({"is_bot":true})"));
}

TEST(TelegramUpdates, ServiceJoinByLinkHasNoInviter) {
  const ParsedUpdate u = One(R"({"update_id": 12, "message": {"message_id": 51, "date": 1767225600,
    "from": {"id": 444, "is_bot": false, "first_name": "Dan"},
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "new_chat_members": [{"id": 444, "is_bot": false, "first_name": "Dan"}]}})");
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].via_inviter, "");
}

constexpr std::string_view kMemberJoinViaLink = R"({"update_id": 900011, "chat_member": {
  "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
  "from": {"id": 444, "is_bot": false, "first_name": "Dan"},
  "date": 1767225600,
  "old_chat_member": {"status": "left", "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
  "new_chat_member": {"status": "member", "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
  "invite_link": {"invite_link": "https://t.me/+AbCdEfGhIjKlMnOp", "name": "spring-poster",
                  "creator": {"id": 999, "is_bot": true, "first_name": "QunzhuBot"},
                  "creates_join_request": false, "is_primary": false, "is_revoked": false}}})";

TEST(TelegramUpdates, ChatMemberJoinViaNamedInviteLink) {
  const ParsedUpdate u = One(kMemberJoinViaLink);
  ASSERT_EQ(u.events.size(), 1u);
  const Event& e = u.events[0];
  EXPECT_EQ(e.type, EventType::kMemberJoined);
  EXPECT_EQ(e.id, "join:-1001234567890:444:1767225600");
  EXPECT_EQ(e.via_code, "spring-poster");
  EXPECT_EQ(e.via_inviter, "999");
  EXPECT_EQ(e.role, Role::kMember);
  EXPECT_EQ(e.group_name, "Spring Camp 2026");
}

TEST(TelegramUpdates, ChatMemberJoinRolesAndUnnamedLinksAndAdders) {
  const ParsedUpdate u = One(R"({"update_id": 13, "chat_member": {
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"}, "date": 1767225600,
    "old_chat_member": {"status": "kicked", "until_date": 0, "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
    "new_chat_member": {"status": "administrator", "can_be_edited": false, "is_anonymous": false,
                        "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
    "invite_link": {"invite_link": "https://t.me/+Xy…", "creates_join_request": false,
                    "is_primary": true, "is_revoked": false}}})");
  ASSERT_EQ(u.events.size(), 1u);
  EXPECT_EQ(u.events[0].role, Role::kAdmin);
  EXPECT_EQ(u.events[0].via_code, "https://t.me/+Xy…");
  EXPECT_EQ(u.events[0].via_inviter, "111");  // no creator: the one who added them

  // Restricted but not in the chat is not a join.
  const ParsedUpdate r = One(R"({"update_id": 14, "chat_member": {
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"}, "date": 1767225600,
    "old_chat_member": {"status": "left", "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
    "new_chat_member": {"status": "restricted", "is_member": false, "until_date": 0,
                        "user": {"id": 444, "is_bot": false, "first_name": "Dan"}}}})");
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.ignored, "member change without join or leave");
}

TEST(TelegramUpdates, KickAndLeaveFromBothSourcesShareIds) {
  const ParsedUpdate kick = One(R"({"update_id": 900012, "chat_member": {
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"}, "date": 1767225800,
    "old_chat_member": {"status": "member", "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
    "new_chat_member": {"status": "kicked", "until_date": 1767225860,
                        "user": {"id": 444, "is_bot": false, "first_name": "Dan"}}}})");
  ASSERT_EQ(kick.events.size(), 1u);
  EXPECT_EQ(kick.events[0].type, EventType::kMemberLeft);
  EXPECT_EQ(kick.events[0].id, "left:-1005:444:1767225800");
  EXPECT_EQ(kick.events[0].reason, LeaveReason::kRemoved);

  const ParsedUpdate service = One(R"({"update_id": 900013, "message": {"message_id": 60,
    "date": 1767225800, "from": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "left_chat_participant": {"id": 444, "is_bot": false, "first_name": "Dan"},
    "left_chat_member": {"id": 444, "is_bot": false, "first_name": "Dan"}}})");
  ASSERT_EQ(service.events.size(), 1u);
  EXPECT_EQ(service.events[0].id, kick.events[0].id);
  EXPECT_EQ(service.events[0].reason, LeaveReason::kRemoved);

  const ParsedUpdate left = One(R"({"update_id": 15, "chat_member": {
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "from": {"id": 444, "is_bot": false, "first_name": "Dan"}, "date": 1767225900,
    "old_chat_member": {"status": "restricted", "is_member": true, "until_date": 0,
                        "user": {"id": 444, "is_bot": false, "first_name": "Dan"}},
    "new_chat_member": {"status": "left", "user": {"id": 444, "is_bot": false, "first_name": "Dan"}}}})");
  ASSERT_EQ(left.events.size(), 1u);
  EXPECT_EQ(left.events[0].reason, LeaveReason::kLeft);
}

TEST(TelegramUpdates, ServiceJoinAndChatMemberJoinInOneBatchKeepTheLinkedOne) {
  const std::string body = fmt::format(R"({{"ok": true, "result": [
    {{"update_id": 900010, "message": {{"message_id": 52, "date": 1767225600,
      "from": {{"id": 444, "is_bot": false, "first_name": "Dan"}},
      "chat": {{"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"}},
      "new_chat_members": [{{"id": 444, "is_bot": false, "first_name": "Dan"}}]}}}},
    {}]}})",
                                       kMemberJoinViaLink);
  auto batch = ParseGetUpdates(body, kBot);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->updates.size(), 2u);
  EXPECT_TRUE(batch->updates[0].events.empty());
  EXPECT_EQ(batch->updates[0].ignored, "duplicate of a chat_member join in this batch");
  ASSERT_EQ(batch->updates[1].events.size(), 1u);
  EXPECT_EQ(batch->updates[1].events[0].via_code, "spring-poster");
  EXPECT_EQ(batch->next_offset, 900012);
}

// ---- Facts for the adapter ----

TEST(TelegramUpdates, GroupMigrationFromBothSides) {
  const ParsedUpdate to = One(R"({"update_id": 16, "message": {"message_id": 70, "date": 1767225600,
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "chat": {"id": -4012345678, "title": "Camp", "type": "group"},
    "migrate_to_chat_id": -1002345678901}})");
  ASSERT_TRUE(to.migration.has_value());
  EXPECT_TRUE(to.events.empty());
  EXPECT_EQ(to.migration->old_chat_id, -4012345678);
  EXPECT_EQ(to.migration->new_chat_id, -1002345678901);
  const ParsedUpdate from =
      One(R"({"update_id": 17, "message": {"message_id": 1, "date": 1767225600,
    "from": {"id": 1087968824, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"},
    "sender_chat": {"id": -1002345678901, "title": "Camp", "type": "supergroup"},
    "chat": {"id": -1002345678901, "title": "Camp", "type": "supergroup"},
    "migrate_from_chat_id": -4012345678}})");
  ASSERT_TRUE(from.migration.has_value());
  EXPECT_EQ(from.migration->old_chat_id, -4012345678);
  EXPECT_EQ(from.migration->new_chat_id, -1002345678901);
  EXPECT_EQ(from.migration->time, kDate * 1000);
}

std::string MyChatMember(std::string_view chat, std::string_view before, std::string_view after) {
  return fmt::format(R"({{"update_id": 18, "my_chat_member": {{
    "chat": {}, "from": {{"id": 111, "is_bot": false, "first_name": "Alice"}}, "date": 1767225600,
    "old_chat_member": {{{}, "user": {{"id": 999, "is_bot": true, "first_name": "QunzhuBot", "username": "qunzhu_bot"}}}},
    "new_chat_member": {{{}, "user": {{"id": 999, "is_bot": true, "first_name": "QunzhuBot", "username": "qunzhu_bot"}}}}}}}})",
                     chat, before, after);
}

TEST(TelegramUpdates, MyChatMemberReportsTheBotsOwnMembership) {
  using Change = BotMembership::Change;
  const std::string group = R"({"id": -1005, "title": "G", "type": "supergroup"})";
  const std::string admin =
      R"("status": "administrator", "can_be_edited": false, "can_restrict_members": true, "can_delete_messages": true)";
  const ParsedUpdate added = One(MyChatMember(group, R"("status": "left")", admin));
  ASSERT_TRUE(added.bot_membership.has_value());
  EXPECT_TRUE(added.events.empty());
  EXPECT_EQ(added.bot_membership->change, Change::kAdded);
  EXPECT_EQ(added.bot_membership->role, Role::kAdmin);
  EXPECT_EQ(added.bot_membership->chat_id, -1005);
  EXPECT_EQ(added.bot_membership->chat_title, "G");
  EXPECT_EQ(added.bot_membership->bot_id, 999);
  EXPECT_EQ(added.bot_membership->by, 111);

  EXPECT_EQ(One(MyChatMember(group, R"("status": "member")", admin)).bot_membership->change,
            Change::kPromoted);
  EXPECT_EQ(One(MyChatMember(group, admin, R"("status": "member")")).bot_membership->change,
            Change::kDemoted);
  EXPECT_EQ(One(MyChatMember(group, admin, R"("status": "kicked", "until_date": 0)"))
                .bot_membership->change,
            Change::kKicked);
  EXPECT_EQ(One(MyChatMember(group, R"("status": "member")", R"("status": "left")"))
                .bot_membership->change,
            Change::kRemoved);
  const ParsedUpdate blocked =
      One(MyChatMember(R"({"id": 111, "first_name": "Alice", "type": "private"})",
                       R"("status": "member")", R"("status": "kicked", "until_date": 0)"));
  EXPECT_EQ(blocked.bot_membership->change, Change::kKicked);
  EXPECT_EQ(blocked.bot_membership->chat_type, "private");
}

TEST(TelegramUpdates, FactsBecomeEventsForTheEngine) {
  // Both reports of one migration are one group_migrated event (the second a duplicate).
  const ParsedUpdate to = One(R"({"update_id": 16, "message": {"message_id": 70, "date": 1767225600,
    "from": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "chat": {"id": -4012345678, "title": "Camp", "type": "group"},
    "migrate_to_chat_id": -1002345678901}})");
  const ParsedUpdate from = One(R"({"update_id": 17, "message": {"message_id": 1,
    "date": 1767225601,
    "from": {"id": 1087968824, "is_bot": true, "first_name": "Group"},
    "chat": {"id": -1002345678901, "title": "Camp", "type": "supergroup"},
    "migrate_from_chat_id": -4012345678}})");
  ASSERT_TRUE(to.migration && from.migration);
  const Event moved = MigrationEvent(*to.migration);
  ExpectValidEvent(moved);
  EXPECT_EQ(moved.id, "migrate:-4012345678");
  EXPECT_EQ(moved.type, EventType::kGroupMigrated);
  EXPECT_EQ(moved.platform, "telegram");
  EXPECT_EQ(moved.group, "-4012345678");
  EXPECT_EQ(moved.to, "-1002345678901");
  EXPECT_EQ(moved.time, kDate * 1000);
  EXPECT_EQ(MigrationEvent(*from.migration).id, moved.id);

  // The bot's own membership of a group; member is who changed it.
  const std::string group = R"({"id": -1005, "title": "G", "type": "supergroup"})";
  const std::string admin = R"("status": "administrator", "can_invite_users": true)";
  const auto event_of = [](const std::string& update) {
    const ParsedUpdate u = One(update);
    EXPECT_TRUE(u.bot_membership.has_value()) << update;
    auto e = u.bot_membership ? BotMembershipEvent(*u.bot_membership) : std::nullopt;
    if (e) ExpectValidEvent(*e);
    return e;
  };
  const auto added = event_of(MyChatMember(group, R"("status": "left")", admin));
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->type, EventType::kBotAdded);
  EXPECT_EQ(added->id, "bot_added:-1005:999:1767225600");
  EXPECT_EQ(added->group, "-1005");
  EXPECT_EQ(added->group_name, "G");
  EXPECT_EQ(added->member, "111");
  EXPECT_EQ(added->time, kDate * 1000);
  const auto kicked =
      event_of(MyChatMember(group, admin, R"("status": "kicked", "until_date": 0)"));
  ASSERT_TRUE(kicked.has_value());
  EXPECT_EQ(kicked->type, EventType::kBotRemoved);
  EXPECT_EQ(kicked->id, "bot_removed:-1005:999:1767225600");
  EXPECT_EQ(kicked->member, "111");
  const std::string basic = R"({"id": -4005, "title": "B", "type": "group"})";
  const auto left = event_of(MyChatMember(basic, R"("status": "member")", R"("status": "left")"));
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(left->type, EventType::kBotRemoved);
  EXPECT_EQ(left->id, "bot_removed:-4005:999:1767225600");
  // The same update delivered again gives the same event.
  EXPECT_EQ(event_of(MyChatMember(basic, R"("status": "member")", R"("status": "left")"))->id,
            left->id);
  // Changes within the group, and chats that are no groups: no event.
  EXPECT_FALSE(event_of(MyChatMember(group, R"("status": "member")", admin)).has_value());
  EXPECT_FALSE(event_of(MyChatMember(group, admin, R"("status": "member")")).has_value());
  EXPECT_FALSE(event_of(MyChatMember(R"({"id": 111, "first_name": "Alice", "type": "private"})",
                                     R"("status": "member")", R"("status": "kicked")"))
                   .has_value());
  EXPECT_FALSE(event_of(MyChatMember(R"({"id": -1009, "title": "News", "type": "channel"})",
                                     R"("status": "left")", admin))
                   .has_value());
}

// ---- Join requests ----

constexpr std::string_view kJoinRequest = R"({"update_id": 19, "chat_join_request": {
  "chat": {"id": -1001234567890, "title": "Spring Camp 2026", "type": "supergroup"},
  "from": {"id": 555, "is_bot": false, "first_name": "Erin", "username": "erin"},
  "user_chat_id": 555, "date": 1767225600, "bio": "高三学生，想一起学习",
  "invite_link": {"invite_link": "https://t.me/+AbCdEf", "name": "spring-poster",
    "creator": {"id": 111, "is_bot": false, "first_name": "Alice"},
    "creates_join_request": true, "is_primary": false, "is_revoked": false}}})";

TEST(TelegramUpdates, ChatJoinRequestIsAJoinRequestTheBotCanAnswer) {
  const ParsedUpdate u = One(kJoinRequest);
  EXPECT_EQ(u.update_id, 19);
  ASSERT_EQ(u.events.size(), 1u);
  const Event& e = u.events[0];
  EXPECT_EQ(e.type, EventType::kJoinRequest);
  EXPECT_EQ(e.id, "999:join_request:-1001234567890:555:1767225600");
  EXPECT_EQ(e.platform, "telegram");
  EXPECT_EQ(e.group, "-1001234567890");
  EXPECT_EQ(e.group_name, "Spring Camp 2026");
  EXPECT_EQ(e.member, "555");
  EXPECT_EQ(e.name, "Erin");
  EXPECT_EQ(e.text, "高三学生，想一起学习");
  EXPECT_EQ(e.via_code, "spring-poster");
  EXPECT_EQ(e.via_inviter, "");
  EXPECT_EQ(e.request, "999:-1001234567890:555");
  EXPECT_EQ(e.time, kDate * 1000);

  // Another bot of the same group receives its own request, answered through it.
  const ParsedUpdate other = ParseWebhookUpdate(kJoinRequest, 777);
  ASSERT_EQ(other.events.size(), 1u);
  EXPECT_EQ(other.events[0].id, "777:join_request:-1001234567890:555:1767225600");
  EXPECT_EQ(other.events[0].request, "777:-1001234567890:555");

  // In a getUpdates batch the same.
  auto batch =
      ParseGetUpdates(fmt::format(R"({{"ok": true, "result": [{}]}})", kJoinRequest), kBot);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->updates.size(), 1u);
  ASSERT_EQ(batch->updates[0].events.size(), 1u);
  EXPECT_EQ(batch->updates[0].events[0].id, e.id);
  EXPECT_EQ(batch->next_offset, 20);
}

TEST(TelegramUpdates, ChatJoinRequestWithoutBioOrNamedLink) {
  const ParsedUpdate plain = One(R"({"update_id": 20, "chat_join_request": {
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "from": {"id": 556, "is_bot": false, "first_name": "Finn"},
    "user_chat_id": 556, "date": 1767225600}})");
  ASSERT_EQ(plain.events.size(), 1u);
  EXPECT_EQ(plain.events[0].text, "");
  EXPECT_EQ(plain.events[0].via_code, "");
  const ParsedUpdate unnamed = One(R"({"update_id": 21, "chat_join_request": {
    "chat": {"id": -1005, "title": "G", "type": "supergroup"},
    "from": {"id": 556, "is_bot": false, "first_name": "Finn"},
    "user_chat_id": 556, "date": 1767225600,
    "invite_link": {"invite_link": "https://t.me/+Xyz", "creator": {"id": 1, "first_name": "A"},
      "creates_join_request": true, "is_primary": false, "is_revoked": false}}})");
  ASSERT_EQ(unnamed.events.size(), 1u);
  EXPECT_EQ(unnamed.events[0].via_code, "https://t.me/+Xyz");
  // A request to join a channel: no group of a community.
  const ParsedUpdate channel = One(R"({"update_id": 22, "chat_join_request": {
    "chat": {"id": -1009, "title": "News", "type": "channel"},
    "from": {"id": 556, "is_bot": false, "first_name": "Finn"},
    "user_chat_id": 556, "date": 1767225600}})");
  EXPECT_TRUE(channel.events.empty());
  EXPECT_EQ(channel.ignored, "channel");
}

// ---- Bad input ----

TEST(TelegramUpdates, BatchWithABadUpdateInTheMiddle) {
  auto batch = ParseGetUpdates(R"({"ok": true, "result": [
    {"update_id": 100, "message": {"message_id": 1, "date": 1767225600,
      "from": {"id": 111, "is_bot": false, "first_name": "A"},
      "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "text": "one"}},
    {"update_id": 101, "message": {"message_id": 2, "date": 1767225600,
      "from": {"id": 111, "is_bot": false, "first_name": "A"},
      "chat": {"id": "-1005", "title": "G", "type": "supergroup"}, "text": "two"}},
    {"update_id": 102, "message": {"message_id": 3, "date": 1767225600,
      "from": {"id": 111, "is_bot": false, "first_name": "A"},
      "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "text": "three"}},
    {"update_id": 103, "message": {"message_id": 4, "date": 1767225600,
      "from": {"id": 11.5, "is_bot": false, "first_name": "A"},
      "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "text": "four"}}]})",
                               kBot);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->updates.size(), 4u);
  EXPECT_EQ(batch->updates[0].events.at(0).text, "one");
  EXPECT_FALSE(batch->updates[1].error.ok());
  EXPECT_EQ(batch->updates[1].error.field(), "message.chat.id");
  EXPECT_EQ(batch->updates[1].update_id, 101);
  EXPECT_TRUE(batch->updates[1].events.empty());
  EXPECT_EQ(batch->updates[2].events.at(0).text, "three");
  EXPECT_EQ(batch->updates[3].error.field(), "message.from.id");
  EXPECT_EQ(batch->next_offset, 104);  // past the bad last one too
}

TEST(TelegramUpdates, BadInputNamesTheField) {
  const auto field_of = [](std::string_view body) {
    const ParsedUpdate u = ParseWebhookUpdate(body, kBot);
    EXPECT_FALSE(u.error.ok()) << body;
    EXPECT_TRUE(u.events.empty() && !u.migration && !u.bot_membership && u.ignored.empty());
    return u.error.field();
  };
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": {"message_id": 1)"), "body");
  EXPECT_EQ(field_of("[1,2]"), "update");
  EXPECT_EQ(field_of(R"({"message": {}})"), "update_id");
  EXPECT_EQ(field_of(R"({"update_id": "7"})"), "update_id");
  EXPECT_EQ(field_of(R"({"update_id": 18446744073709551615})"), "update_id");
  EXPECT_EQ(field_of(R"({"update_id": 9223372036854775807})"), "update_id");  // no next offset
  EXPECT_EQ(field_of(R"({"update_id": -2})"), "update_id");
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": []})"), "message");
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": {"message_id": 1, "date": 1767225600}})"),
            "message.chat");
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": {"message_id": 1, "date": 12,
    "chat": {"id": 1, "type": "private"}, "text": "x"}})"),
            "message.date");
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": {"message_id": 1, "date": 1767225600,
    "chat": {"id": -1, "type": "group"}, "text": "x"}})"),
            "message.from");
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": {"message_id": 1, "date": 1767225600,
    "from": {"id": 1, "first_name": "A"}, "chat": {"id": -1, "type": "group"}, "text": "x",
    "entities": [{"type": "bold", "offset": "0", "length": 1}]}})"),
            "message.entities[0].offset");
  EXPECT_EQ(field_of(R"({"update_id": 1, "edited_message": {"message_id": 1, "date": 1767225600,
    "from": {"id": 1, "first_name": "A"}, "chat": {"id": -1, "type": "group"}, "text": "x"}})"),
            "edited_message.edit_date");
  EXPECT_EQ(field_of(R"({"update_id": 1, "chat_member": {"date": 1767225600,
    "chat": {"id": -1, "type": "group"}, "from": {"id": 1, "first_name": "A"},
    "old_chat_member": {"status": "left", "user": {"id": 2}},
    "new_chat_member": {"status": "vip", "user": {"id": 2}}}})"),
            "chat_member.new_chat_member.status");
  EXPECT_EQ(field_of(R"({"update_id": 1, "chat_join_request": {"date": 1767225600,
    "chat": {"id": -1, "type": "supergroup"}, "user_chat_id": 2}})"),
            "chat_join_request.from");
  EXPECT_EQ(field_of(R"({"update_id": 1, "chat_join_request": {"date": 1767225600,
    "chat": {"id": -1, "type": "supergroup"}, "from": {"id": 2, "first_name": "B"},
    "bio": 7}})"),
            "chat_join_request.bio");
  EXPECT_EQ(field_of(R"({"update_id": 1, "chat_join_request": {"date": 1767225600,
    "chat": {"id": -1, "type": "supergroup"}, "from": {"id": 2, "first_name": "B"},
    "invite_link": {"invite_link": 5}}})"),
            "chat_join_request.invite_link.invite_link");
  EXPECT_EQ(field_of(R"({"update_id": 1, "message": {"message_id": 1, "date": 1767225600,
    "chat": {"id": -7, "type": "group"}, "migrate_to_chat_id": -7}})"),
            "message.migrate_to_chat_id");

  const ParsedUpdate bad_json = ParseWebhookUpdate("not json", kBot);
  EXPECT_FALSE(bad_json.update_id.has_value());
}

TEST(TelegramUpdates, RefusedOrMalformedGetUpdatesFailsAsAWhole) {
  auto conflict = ParseGetUpdates(
      R"({"ok": false, "error_code": 409, "description": "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})",
      kBot);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), Code::kUnavailable);
  EXPECT_THAT(conflict.status().message(), HasSubstr("409 Conflict"));
  EXPECT_FALSE(ParseGetUpdates(R"({"ok": true, "result": {}})", kBot).ok());
  EXPECT_FALSE(ParseGetUpdates(R"({"ok": true, "result": [)", kBot).ok());
  auto empty = ParseGetUpdates(R"({"ok": true, "result": []})", kBot);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->next_offset, 0);
}

TEST(TelegramUtf16, LengthAndSubstrings) {
  EXPECT_EQ(Utf16Length("abc"), 3u);
  EXPECT_EQ(Utf16Length("你好"), 2u);
  EXPECT_EQ(Utf16Length("👋"), 2u);
  EXPECT_EQ(Utf16Length("é👨‍👩‍👧"), 1u + 8u);  // ZWJ sequence: 3 pairs and 2 joiners
  const std::string_view s = "a👋你b";
  EXPECT_EQ(Utf16Substr(s, 0, 1), "a");
  EXPECT_EQ(Utf16Substr(s, 1, 2), "👋");
  EXPECT_EQ(Utf16Substr(s, 3, 2), "你b");
  EXPECT_EQ(Utf16Substr(s, 5, 0), "");
  EXPECT_EQ(Utf16Substr(s, 2, 1), std::nullopt);  // inside the pair
  EXPECT_EQ(Utf16Substr(s, 1, 1), std::nullopt);
  EXPECT_EQ(Utf16Substr(s, 4, 2), std::nullopt);  // past the end
  EXPECT_EQ(Utf16Substr(s, -1, 1), std::nullopt);
  EXPECT_EQ(Utf16Substr(s, INT64_MAX, INT64_MAX), std::nullopt);
}

}  // namespace
}  // namespace qz::telegram
