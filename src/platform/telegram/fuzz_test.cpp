// A brief fuzz run of the Telegram update parser for `./qz test` (which also runs under ASan and
// UBSan): seeded, bounded, mutating valid updates. LLVMFuzzerTestOneInput is the entry the
// libFuzzer build (tests/fuzz) drives. Beyond "no crash" it checks the parser's contract: one outcome per
// update, and every event it makes is one ingest accepts unchanged.
#ifndef QZ_LIBFUZZER
#include <gtest/gtest.h>
#endif

#include <random>

#include "platform/telegram/telegram_protocol.hpp"

namespace qz::telegram {
namespace {

constexpr int64_t kBot = 999;  // the bot the updates are for

// An event ingest accepts unchanged; traps when not.
void CheckEvent(const Event& e) {
  static EventParser parser;  // one thread: the fuzz driver's
  const std::string json = EventToJson(e);
  auto back = parser.Parse(json);
  if (!back.ok() || EventToJson(*back) != json) __builtin_trap();
}

// The contract of one ParsedUpdate; traps (for libFuzzer) when broken.
void CheckUpdate(const ParsedUpdate& u) {
  const int outcomes = (!u.error.ok()) + !u.events.empty() + u.migration.has_value() +
                       u.bot_membership.has_value() + !u.ignored.empty();
  if (outcomes != 1) __builtin_trap();
  for (const Event& e : u.events) CheckEvent(e);
  // The facts' own events, which the adapter submits.
  if (u.migration) CheckEvent(MigrationEvent(*u.migration));
  if (u.bot_membership) {
    if (const auto e = BotMembershipEvent(*u.bot_membership)) CheckEvent(*e);
  }
}

}  // namespace
}  // namespace qz::telegram

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qz::telegram;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckUpdate(ParseWebhookUpdate(input, kBot));
  if (auto batch = ParseGetUpdates(input, kBot); batch.ok()) {
    for (const ParsedUpdate& u : batch->updates) {
      CheckUpdate(u);
      if (u.update_id && *u.update_id >= batch->next_offset) __builtin_trap();
    }
  }
  // The other readers of untrusted bodies.
  (void)ParseCallResponse("sendMessage", 400, input);
  if (auto admins = ParseChatAdministrators(input); admins.ok()) {
    for (const qz::Event& e : SyncedMemberEvents("-1001234567890", *admins, 1767225600000)) {
      CheckEvent(e);
    }
  }
  (void)ParseGetMe(input);
  return 0;
}

// The seeded loop for `./qz test`; a libFuzzer build (tests/fuzz, QZ_LIBFUZZER) drives the entry
// above itself.
#ifndef QZ_LIBFUZZER
namespace qz::telegram {
namespace {

TEST(TelegramFuzz, UpdateParserSurvivesMutatedUpdates) {
  const std::vector<std::string> seeds = {
      R"({"update_id":1,"message":{"message_id":42,"date":1767225600,)"
      R"("from":{"id":111,"is_bot":false,"first_name":"Alice","last_name":"Smith"},)"
      R"("chat":{"id":-1001234567890,"title":"Camp","type":"supergroup"},)"
      R"("reply_to_message":{"message_id":41,"date":1767225500,"chat":{"id":-1001234567890,"type":"supergroup"}},)"
      R"("text":"👋 hi @alice see https://x.io 你好 here","entities":[{"type":"mention","offset":6,"length":6},)"
      R"({"type":"url","offset":17,"length":12},{"type":"text_link","offset":33,"length":4,"url":"https://e.x"},)"
      R"({"type":"text_mention","offset":0,"length":2,"user":{"id":333,"is_bot":false,"first_name":"C"}}]}})",
      R"({"update_id":2,"edited_message":{"message_id":43,"date":1767225600,"edit_date":1767225700,)"
      R"("from":{"id":111,"is_bot":false,"first_name":"A"},"chat":{"id":-5,"title":"G","type":"group"},)"
      R"("photo":[{"file_id":"x","width":1,"height":1}],"caption":"😀@bob","caption_entities":[{"type":"mention","offset":2,"length":4}]}})",
      R"({"update_id":3,"message":{"message_id":50,"date":1767225600,"from":{"id":111,"is_bot":false,"first_name":"A"},)"
      R"("chat":{"id":-5,"title":"G","type":"supergroup"},"new_chat_members":[{"id":444,"is_bot":false,"first_name":"D"},)"
      R"({"id":5001,"is_bot":true,"first_name":"H"}]}})",
      R"({"update_id":4,"chat_member":{"chat":{"id":-5,"title":"G","type":"supergroup"},)"
      R"("from":{"id":444,"is_bot":false,"first_name":"D"},"date":1767225600,)"
      R"("old_chat_member":{"status":"left","user":{"id":444,"is_bot":false,"first_name":"D"}},)"
      R"("new_chat_member":{"status":"restricted","is_member":true,"user":{"id":444,"is_bot":false,"first_name":"D"}},)"
      R"("invite_link":{"invite_link":"https://t.me/+Ab","name":"poster","creator":{"id":999,"is_bot":true,"first_name":"B"}}}})",
      R"({"update_id":5,"my_chat_member":{"chat":{"id":-5,"title":"G","type":"group"},)"
      R"("from":{"id":111,"is_bot":false,"first_name":"A"},"date":1767225600,)"
      R"("old_chat_member":{"status":"member","user":{"id":999,"is_bot":true,"first_name":"B"}},)"
      R"("new_chat_member":{"status":"kicked","until_date":0,"user":{"id":999,"is_bot":true,"first_name":"B"}}}})",
      R"({"update_id":6,"message":{"message_id":1,"date":1767225600,"chat":{"id":-7,"type":"group"},"migrate_to_chat_id":-1007}})",
      R"({"update_id":9,"chat_join_request":{"chat":{"id":-5,"title":"G","type":"supergroup"},)"
      R"("from":{"id":444,"is_bot":false,"first_name":"D"},"user_chat_id":444,"date":1767225600,"bio":"学生 😀",)"
      R"("invite_link":{"invite_link":"https://t.me/+Cd","name":"poster","creates_join_request":true,)"
      R"("creator":{"id":999,"is_bot":true,"first_name":"B"}}}})",
      R"({"ok":true,"result":[{"update_id":7,"message":{"message_id":2,"date":1767225600,)"
      R"("from":{"id":1,"is_bot":false,"first_name":"A"},"chat":{"id":1,"type":"private"},"text":"hi"}},)"
      R"({"update_id":8,"callback_query":{"id":"1"}}]})",
  };
  // Numbers that stress ranges and types where the seeds have numbers.
  const std::vector<std::string> numbers = {
      "0",     "-1",   "1.5", "9223372036854775807", "18446744073709551615", "1e3",
      "\"7\"", "null", "99"};
  // Text put inside strings: astral and CJK characters shift UTF-16 offsets against bytes.
  const std::vector<std::string> pieces = {"😀", "你", "@", "a", "\\u0000", "é", "\\ud83d\\ude00",
                                           " "};
  std::mt19937 rng(20260101);
  // How far the mutants get: a loop whose inputs all died in the JSON parser would test little.
  int translated = 0, field_errors = 0;
  constexpr int kRounds = 5000;
  for (int round = 0; round < kRounds; ++round) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 8) {
        case 0:
          s.insert(at, 1, static_cast<char>(rng() & 0xFF));
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1 + rng() % 8);
          break;
        case 2:
        case 3:
        case 4: {  // replace the digits of a number (keeps the JSON well-formed)
          size_t b = at;
          while (b < s.size() && !(s[b] >= '0' && s[b] <= '9')) ++b;
          size_t e = b;
          while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
          if (b < s.size()) s.replace(b, e - b, numbers[rng() % numbers.size()]);
          break;
        }
        case 5:
        case 6: {  // text inside a string
          const size_t quote = s.find('"', at);
          if (quote != std::string::npos) s.insert(quote + 1, pieces[rng() % pieces.size()]);
          break;
        }
        default: {  // splice a piece of another seed
          const std::string& o = seeds[rng() % seeds.size()];
          const size_t from = rng() % o.size();
          s.insert(at, o.substr(from, rng() % 64));
          break;
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    const ParsedUpdate u = ParseWebhookUpdate(s, kBot);
    translated += u.error.ok();
    field_errors += !u.error.ok() && u.error.field() != "body";
  }
  // This seed and loop give 501 and 856 (of 5000); far fewer means the mutations went blind.
  EXPECT_GT(translated, kRounds / 20);
  EXPECT_GT(field_errors, kRounds / 10);
  // The seeds themselves translate (so the mutations start from the interesting paths).
  int events = 0;
  for (size_t i = 0; i + 1 < seeds.size(); ++i) {
    const ParsedUpdate u = ParseWebhookUpdate(seeds[i], kBot);
    EXPECT_TRUE(u.error.ok()) << i << ": " << u.error.ToString();
    events += static_cast<int>(u.events.size());
  }
  EXPECT_EQ(events, 6);  // two messages, two joins, one chat_member join, one join request
}

}  // namespace
}  // namespace qz::telegram
#endif  // QZ_LIBFUZZER
