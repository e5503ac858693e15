// The Telegram translation layer against payloads shaped as the Bot API documents them
// (core.telegram.org/bots/api: Update, Message, MessageEntity, ChatMemberUpdated, ChatInviteLink,
// ResponseParameters).
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
constexpr TimeMs kNow = kDate * 1000 + 250;
constexpr int64_t kNowS = kDate + 1;  // kNow rounded up to a second

// Every event the layer makes must be one ingest accepts, unchanged by a round trip.
void ExpectValidEvent(const Event& e) {
  EventParser parser;
  const std::string json = EventToJson(e);
  auto back = parser.Parse(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " in " << json;
  EXPECT_EQ(EventToJson(*back), json);
}

ParsedUpdate One(std::string_view body) {
  ParsedUpdate u = ParseWebhookUpdate(body);
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
  auto batch = ParseGetUpdates(body);
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
      "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "text": "four"}}]})");
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
    const ParsedUpdate u = ParseWebhookUpdate(body);
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

  const ParsedUpdate bad_json = ParseWebhookUpdate("not json");
  EXPECT_FALSE(bad_json.update_id.has_value());
}

TEST(TelegramUpdates, RefusedOrMalformedGetUpdatesFailsAsAWhole) {
  auto conflict = ParseGetUpdates(
      R"({"ok": false, "error_code": 409, "description": "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})");
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), Code::kUnavailable);
  EXPECT_THAT(conflict.status().message(), HasSubstr("409 Conflict"));
  EXPECT_FALSE(ParseGetUpdates(R"({"ok": true, "result": {}})").ok());
  EXPECT_FALSE(ParseGetUpdates(R"({"ok": true, "result": [)").ok());
  auto empty = ParseGetUpdates(R"({"ok": true, "result": []})");
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

// ---- Actions ----

OutboxRecord Record(ActionType type, std::string group = "-1005", std::string member = "444",
                    std::string text = {}, std::string reply_to = {}) {
  OutboxRecord r;
  r.id = 1;
  r.action.type = type;
  r.action.platform = "telegram";
  r.action.group = std::move(group);
  r.action.member = std::move(member);
  r.action.text = std::move(text);
  r.action.reply_to = std::move(reply_to);
  return r;
}

Json Body(const Result<TelegramCall>& call) {
  EXPECT_TRUE(call.ok()) << call.status().ToString();
  return call.ok() ? Json::parse(call->body) : Json();
}

TEST(TelegramCalls, SendReplyWarnAndDirect) {
  auto send = BuildCall(Record(ActionType::kSendMessage, "-1005", "", "早上好 ☀️"), kNow);
  EXPECT_EQ(send->method, "sendMessage");
  EXPECT_EQ(Body(send), Json::parse(R"({"chat_id": -1005, "text": "早上好 ☀️"})"));

  for (ActionType type : {ActionType::kReply, ActionType::kWarn}) {
    auto reply = BuildCall(Record(type, "-1005", "444", "⚠️ rule 1", "-1005:42"), kNow);
    EXPECT_EQ(reply->method, "sendMessage");
    EXPECT_EQ(Body(reply), Json::parse(R"({"chat_id": -1005, "text": "⚠️ rule 1",
      "reply_parameters": {"message_id": 42, "allow_sending_without_reply": true}})"));
  }
  // Replying to an edit's event id replies to the message.
  auto edited =
      BuildCall(Record(ActionType::kReply, "-1005", "444", "ok", "-1005:42:e1767225700"), kNow);
  EXPECT_EQ(Body(edited)["reply_parameters"]["message_id"], 42);
  // In a direct chat the chat comes from reply_to.
  auto dm_reply = BuildCall(Record(ActionType::kReply, "", "111", "答对了", "111:9"), kNow);
  EXPECT_EQ(Body(dm_reply)["chat_id"], 111);

  auto direct = BuildCall(Record(ActionType::kSendDirect, "", "444", "请回答：1+1=?"), kNow);
  EXPECT_EQ(Body(direct), Json::parse(R"({"chat_id": 444, "text": "请回答：1+1=?"})"));
}

TEST(TelegramCalls, ReplyTargetsAreValidated) {
  const auto field = [](const Result<TelegramCall>& c) {
    EXPECT_FALSE(c.ok());
    return c.status().field();
  };
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "42"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "-1005:abc"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "-1005:4:x9"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "-1006:42"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", ""), kNow)), "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kSendMessage, "camp-1", "", "x"), kNow)), "group");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kSendDirect, "", "u42", "x"), kNow)), "member");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kMute, "-1005", "", "", ""), kNow)), "member");
}

TEST(TelegramCalls, TextLimitIsUtf16UnitsAndNeverCutSilently) {
  std::string emoji;
  for (int i = 0; i < 2048; ++i) emoji += "😀";  // 4096 units, 8192 bytes
  EXPECT_TRUE(BuildCall(Record(ActionType::kSendMessage, "-1005", "", emoji), kNow).ok());
  std::string cjk;
  for (int i = 0; i < 4096; ++i) cjk += "群";  // 4096 units, 12288 bytes
  EXPECT_TRUE(BuildCall(Record(ActionType::kSendMessage, "-1005", "", cjk), kNow).ok());
  auto too_long = BuildCall(Record(ActionType::kSendMessage, "-1005", "", emoji + "a"), kNow);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().field(), "text");
  EXPECT_THAT(too_long.status().message(), HasSubstr("4097"));
  EXPECT_EQ(BuildCall(Record(ActionType::kSendMessage, "-1005", "", ""), kNow).status().field(),
            "text");
  EXPECT_EQ(
      BuildCall(Record(ActionType::kWarn, "-1005", "", "\xff", "-1005:1"), kNow).status().field(),
      "text");
}

TEST(TelegramCalls, DeleteMessage) {
  auto del = BuildCall(Record(ActionType::kDeleteMessage, "-1005", "444", "", "-1005:42"), kNow);
  EXPECT_EQ(del->method, "deleteMessage");
  EXPECT_EQ(Body(del), Json::parse(R"({"chat_id": -1005, "message_id": 42})"));
  // Without reply_to: the cause event is the message.
  OutboxRecord cause = Record(ActionType::kDeleteMessage, "-1005", "444");
  cause.action.cause_event = "telegram:-1005:43";
  EXPECT_EQ(Body(BuildCall(cause, kNow))["message_id"], 43);
}

TEST(TelegramCalls, MuteClampsShortDurationsAndZeroIsUntilUnmuted) {
  OutboxRecord mute = Record(ActionType::kMute);
  mute.action.duration_s = 600;
  auto ten_min = BuildCall(mute, kNow);
  EXPECT_EQ(ten_min->method, "restrictChatMember");
  const Json body = Body(ten_min);
  EXPECT_EQ(body["chat_id"], -1005);
  EXPECT_EQ(body["user_id"], 444);
  EXPECT_EQ(body["until_date"], kNowS + 600);
  ASSERT_EQ(body["permissions"].size(), 14u);
  for (const auto& [name, allowed] : body["permissions"].items()) EXPECT_EQ(allowed, false) << name;

  mute.action.duration_s = 5;  // Telegram would read < 30 s as forever
  EXPECT_EQ(Body(BuildCall(mute, kNow))["until_date"], kNowS + kMinRestrictSeconds);
  mute.action.duration_s = 0;  // until unmuted
  EXPECT_EQ(Body(BuildCall(mute, kNow))["until_date"], 0);
  mute.action.duration_s = INT64_MAX;  // no overflow: beyond 366 days is forever anyway
  EXPECT_GT(Body(BuildCall(mute, kNow))["until_date"].get<int64_t>(), kNowS + 366 * 86400);

  auto unmute = BuildCall(Record(ActionType::kUnmute), kNow);
  EXPECT_EQ(unmute->method, "restrictChatMember");
  const Json unmuted = Body(unmute);
  EXPECT_FALSE(unmuted.contains("until_date"));
  ASSERT_EQ(unmuted["permissions"].size(), 14u);
  for (const auto& [name, allowed] : unmuted["permissions"].items())
    EXPECT_EQ(allowed, true) << name;
}

TEST(TelegramCalls, RemoveIsAShortBanAndUnbanOnlyIfBanned) {
  auto remove = BuildCall(Record(ActionType::kRemoveMember), kNow);
  EXPECT_EQ(remove->method, "banChatMember");
  EXPECT_EQ(Body(remove), Json::parse(fmt::format(
                              R"({{"chat_id": -1005, "user_id": 444, "until_date": {},
                                 "revoke_messages": false}})",
                              kNowS + 60)));
  auto unban = BuildCall(Record(ActionType::kUnban), kNow);
  EXPECT_EQ(unban->method, "unbanChatMember");
  EXPECT_EQ(Body(unban),
            Json::parse(R"({"chat_id": -1005, "user_id": 444, "only_if_banned": true})"));
}

TEST(TelegramCalls, CreateInviteCutsTheNameAtThirtyTwoCharacters) {
  std::string name;
  for (int i = 0; i < 40; ++i) name += i % 2 ? "营" : "🎓";
  auto invite = BuildCall(Record(ActionType::kCreateInvite, "-1005", "", name), kNow);
  EXPECT_EQ(invite->method, "createChatInviteLink");
  const Json body = Body(invite);
  EXPECT_EQ(body["chat_id"], -1005);
  EXPECT_EQ(body["creates_join_request"], false);
  std::string expected;
  for (int i = 0; i < 32; ++i) expected += i % 2 ? "营" : "🎓";
  EXPECT_EQ(body["name"], expected);
  EXPECT_EQ(
      Body(BuildCall(Record(ActionType::kCreateInvite, "-1005", "", "poster-a"), kNow))["name"],
      "poster-a");
  EXPECT_FALSE(
      Body(BuildCall(Record(ActionType::kCreateInvite, "-1005", "", ""), kNow)).contains("name"));
}

TEST(TelegramCalls, UndeclaredActionsAreErrorsAndCapabilitiesMatch) {
  for (ActionType t : {ActionType::kSetAnnouncement, ActionType::kSetTag, ActionType::kOpenTask}) {
    auto call = BuildCall(Record(t, "-1005", "444", "x", "-1005:1"), kNow);
    ASSERT_FALSE(call.ok());
    EXPECT_EQ(call.status().field(), "type");
  }
  const Capabilities caps = TelegramCapabilities();
  for (int t = 1; t <= kActionTypeCount; ++t) {
    const auto type = static_cast<ActionType>(t);
    OutboxRecord r = Record(type, "-1005", "444", "x", "-1005:1");
    r.action.duration_s = 60;
    // Declared exactly when BuildCall can make the call.
    EXPECT_EQ(caps.Has(type), BuildCall(r, kNow).ok()) << ActionTypeName(type);
  }
  EXPECT_FALSE(caps.dedupes_sends);
  EXPECT_EQ(TelegramRateLimits(),
            (RateLimits{.per_second = 30, .per_chat_per_second = 1, .per_chat_per_minute = 20}));
}

// ---- Responses ----

TEST(TelegramResponses, SuccessCarriesTheRef) {
  const CallOutcome sent = ParseCallResponse("sendMessage", 200, R"({"ok": true, "result": {
    "message_id": 57, "from": {"id": 999, "is_bot": true, "first_name": "QunzhuBot"},
    "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "date": 1767225600, "text": "hi"}})");
  EXPECT_EQ(sent.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(sent.perform.platform_ref, "-1005:57");
  EXPECT_FALSE(sent.bot_removed);

  const CallOutcome link =
      ParseCallResponse("createChatInviteLink", 200, R"({"ok": true, "result": {
    "invite_link": "https://t.me/+AbCdEfGhIjKlMnOp", "creator": {"id": 999, "is_bot": true, "first_name": "QunzhuBot"},
    "creates_join_request": false, "is_primary": false, "is_revoked": false, "name": "poster-a"}})");
  EXPECT_EQ(link.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(link.perform.platform_ref, "https://t.me/+AbCdEfGhIjKlMnOp");

  const CallOutcome banned =
      ParseCallResponse("banChatMember", 200, R"({"ok": true, "result": true})");
  EXPECT_EQ(banned.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(banned.perform.platform_ref, "");
}

TEST(TelegramResponses, TransientFailuresRetry) {
  const CallOutcome flood =
      ParseCallResponse("sendMessage", 429, R"({"ok": false, "error_code": 429,
    "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})");
  EXPECT_EQ(flood.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(flood.perform.retry_after_ms, 7000);
  EXPECT_THAT(flood.perform.error, HasSubstr("Too Many Requests"));

  const CallOutcome server = ParseCallResponse(
      "sendMessage", 500,
      R"({"ok": false, "error_code": 500, "description": "Internal Server Error"})");
  EXPECT_EQ(server.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(server.perform.retry_after_ms, 0);
  EXPECT_EQ(ParseCallResponse("sendMessage", 502, "<html>Bad Gateway</html>").perform.kind,
            PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseCallResponse("sendMessage", 200, R"({"ok": tr)").perform.kind,
            PerformResult::Kind::kRetry);
}

TEST(TelegramResponses, RefusalsFailWithFlags) {
  const CallOutcome kicked =
      ParseCallResponse("sendMessage", 403, R"({"ok": false, "error_code": 403,
    "description": "Forbidden: bot was kicked from the supergroup chat"})");
  EXPECT_EQ(kicked.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_TRUE(kicked.bot_removed);
  EXPECT_EQ(kicked.perform.error,
            "sendMessage: Forbidden: bot was kicked from the supergroup chat");

  const CallOutcome migrated =
      ParseCallResponse("sendMessage", 400, R"({"ok": false, "error_code": 400,
    "description": "Bad Request: group chat was upgraded to a supergroup chat",
    "parameters": {"migrate_to_chat_id": -1002345678901}})");
  EXPECT_EQ(migrated.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(migrated.migrate_to_chat_id, -1002345678901);
  EXPECT_FALSE(migrated.bot_removed);

  const CallOutcome not_found = ParseCallResponse(
      "sendMessage", 400,
      R"({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})");
  EXPECT_EQ(not_found.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(not_found.perform.error, "sendMessage: Bad Request: chat not found");
  EXPECT_FALSE(not_found.migrate_to_chat_id.has_value());

  const CallOutcome refused = ParseCallResponse("getMe", 401,
                                               R"({"ok": false, "error_code": 401, "description": "Unauthorized"})");
  EXPECT_EQ(refused.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_NE(refused.perform.error.find("token was refused"), std::string::npos);
}

TEST(TelegramResponses, DeletingAMessageAlreadyGoneIsDone) {
  constexpr std::string_view kGone =
      R"({"ok": false, "error_code": 400, "description": "Bad Request: message to delete not found"})";
  const CallOutcome gone = ParseCallResponse("deleteMessage", 400, kGone);
  EXPECT_EQ(gone.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(gone.perform.error, "");
  EXPECT_EQ(ParseCallResponse("sendMessage", 400, kGone).perform.kind,
            PerformResult::Kind::kFailed);
  EXPECT_EQ(ParseCallResponse("deleteMessage", 400, R"({"ok": false, "error_code": 400,
              "description": "Bad Request: message can't be deleted"})")
                .perform.kind,
            PerformResult::Kind::kFailed);
}

// ---- Other reads ----

TEST(TelegramReads, ChatAdministrators) {
  auto admins = ParseChatAdministrators(R"({"ok": true, "result": [
    {"status": "creator", "is_anonymous": false,
     "user": {"id": 111, "is_bot": false, "first_name": "Alice", "last_name": "Smith"}},
    {"status": "administrator", "can_be_edited": false, "is_anonymous": false, "can_delete_messages": true,
     "can_restrict_members": true, "custom_title": "助教",
     "user": {"id": 999, "is_bot": true, "first_name": "QunzhuBot", "username": "qunzhu_bot"}}]})");
  ASSERT_TRUE(admins.ok()) << admins.status().ToString();
  ASSERT_EQ(admins->size(), 2u);
  EXPECT_EQ((*admins)[0].user_id, 111);
  EXPECT_EQ((*admins)[0].role, Role::kOwner);
  EXPECT_EQ((*admins)[0].name, "Alice Smith");
  EXPECT_EQ((*admins)[1].role, Role::kAdmin);
  EXPECT_TRUE((*admins)[1].is_bot);

  auto bad = ParseChatAdministrators(R"({"ok": true, "result": [
    {"status": "creator", "user": {"id": 111, "first_name": "A"}}, {"status": "member", "user": {"id": 2}}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "result[1].status");
  auto bad_id = ParseChatAdministrators(
      R"({"ok": true, "result": [{"status": "creator", "user": {"id": "111"}}]})");
  EXPECT_EQ(bad_id.status().field(), "result[0].user.id");
  EXPECT_FALSE(
      ParseChatAdministrators(
          R"({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})")
          .ok());
}

TEST(TelegramReads, GetMe) {
  auto me = ParseGetMe(R"({"ok": true, "result": {"id": 7012345678, "is_bot": true,
    "first_name": "Qunzhu", "username": "qunzhu_bot", "can_join_groups": true,
    "can_read_all_group_messages": false, "supports_inline_queries": false}})");
  ASSERT_TRUE(me.ok()) << me.status().ToString();
  EXPECT_EQ(me->id, 7012345678);
  EXPECT_EQ(me->username, "qunzhu_bot");
  EXPECT_EQ(ParseGetMe(R"({"ok": true, "result": {"username": "x"}})").status().field(),
            "result.id");
  EXPECT_EQ(ParseGetMe(R"({"ok": "yes"})").status().field(), "ok");
}

}  // namespace
}  // namespace qz::telegram
