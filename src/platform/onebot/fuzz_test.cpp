// A brief fuzz run of the OneBot translation layer for `./qz test` (which also runs under ASan):
// seeded, bounded, mutating valid reports, CQ strings and API responses. LLVMFuzzerTestOneInput
// is the entry the libFuzzer build (tests/fuzz) drives; its first byte picks the target (one entry per
// binary), the rest is the input.
#ifndef QZ_LIBFUZZER
#include <gtest/gtest.h>
#endif

#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>

#include "platform/onebot/cq_code.hpp"
#include "platform/onebot/onebot_protocol.hpp"

namespace qz::onebot {
namespace {

enum Target : uint8_t { kReport = 0, kCq = 1, kResponse = 2, kTargets = 3 };

// Inputs a target accepted (a report parsed, segments found, a response done): the loops check
// that mutation still reaches past the first syntax check.
int accepted = 0;

// What every report the parser accepts must satisfy.
void CheckReport(std::string_view input) {
  static ReportParser parser;
  static EventParser events;
  Result<Report> r = parser.Parse(input);
  if (!r.ok()) {
    if (r.status().code() != Code::kInvalidArgument) __builtin_trap();
    return;
  }
  ++accepted;
  if (r->self_id.empty() || r->image_urls.size() > kMaxImageUrls) __builtin_trap();
  if (const Event* e = std::get_if<Event>(&r->content)) {
    // The sink re-reads events through the event format's parser: they must pass it.
    if (!events.Parse(EventToJson(*e)).ok()) __builtin_trap();
  }
}

// ParseCq never yields an empty or a split text segment, and its segments survive ToCq.
void CheckCq(std::string_view input) {
  const std::vector<CqSegment> segs = ParseCq(input);
  if (!segs.empty()) ++accepted;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].type.empty()) __builtin_trap();
    if (segs[i].type == "text") {
      if (segs[i].Get("text").empty()) __builtin_trap();
      if (i > 0 && segs[i - 1].type == "text") __builtin_trap();
    }
  }
  if (ParseCq(ToCq(segs)) != segs) __builtin_trap();
}

void CheckResponse(std::string_view input) {
  const Response r = ParseResponse(200, input, "10001");
  if (r.result.kind == PerformResult::Kind::kDone && !r.result.error.empty()) __builtin_trap();
  if (r.result.kind != PerformResult::Kind::kDone && r.result.error.empty()) __builtin_trap();
  if (r.result.kind == PerformResult::Kind::kDone) ++accepted;
  Result<GroupMemberList> members = ParseGroupMembers(r.data);
  if (members.ok()) {
    if (members->members.size() > kMaxGroupMembers) __builtin_trap();
    for (const GroupMember& m : members->members) {
      if (m.user_id.empty()) __builtin_trap();
    }
    // A synced member's event must pass the event format's parser, as the sink reads it.
    static EventParser events;
    for (const Event& e : MemberSyncedEvents("20002", members->members, {"10001"}, 1700000000000)) {
      if (!events.Parse(EventToJson(e)).ok()) __builtin_trap();
    }
  }
  (void)VerifySignature("secret", input, input);
}

}  // namespace
}  // namespace qz::onebot

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qz::onebot;
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % kTargets) {
    case kReport:
      CheckReport(input);
      break;
    case kCq:
      CheckCq(input);
      break;
    default:
      CheckResponse(input);
      break;
  }
  return 0;
}

// The seeded loop for `./qz test`; a libFuzzer build (tests/fuzz, QZ_LIBFUZZER) drives the entry
// above itself.
#ifndef QZ_LIBFUZZER
namespace qz::onebot {
namespace {

// Values a structure-aware mutation puts in place of one value of a JSON seed: wrong types,
// extreme numbers, CQ codes, segments, a text beyond the event format's bound.
const std::vector<nlohmann::json>& Values() {
  static const std::vector<nlohmann::json> kValues = [] {
    using nlohmann::json;
    std::vector<json> v = {
        nullptr,
        true,
        0,
        -1,
        1700000000,
        INT64_MAX,
        INT64_MIN,
        UINT64_MAX,
        1.5,
        "",
        "x",
        "123",
        "-5",
        "all",
        "0",
        "[CQ:at,qq=1]x[CQ:image,url=https://a/b]",
        "https://a.b/c",
        "com.tencent.miniapp_01",
        "kick_me",
        "group",
        "private",
        "message",
        "notice",
        "json",
        std::string(1, '\0'),
        "好",
        json::array(),
        json::object(),
        json::parse(R"({"type":"text","data":{"text":"t"}})"),
        json::parse(R"([{"type":"at","data":{"qq":1}},{"type":"unknown","data":{"k":[1,{}]}}])"),
        json::parse(R"({"app":"com.tencent.miniapp_01","prompt":"p"})"),
        std::string(70000, 'a')};
    return v;
  }();
  return kValues;
}

void CollectValues(nlohmann::json& j, std::vector<nlohmann::json*>& out) {
  out.push_back(&j);
  if (j.is_structured()) {
    for (nlohmann::json& child : j) CollectValues(child, out);
  }
}

// Mutates `seeds` `rounds` times and feeds each result to the entry with `target` as its first
// byte. Odd rounds edit bytes (random bytes, deletions, pieces of seeds and of `tokens`); even
// rounds, for JSON seeds, replace one to three values (Values()), so the parser's checks past
// the JSON syntax are reached too. Returns how many inputs the target accepted.
int Mutate(Target target, const std::vector<std::string>& seeds,
           const std::vector<std::string>& tokens, int rounds, uint32_t seed) {
  std::mt19937 rng(seed);
  accepted = 0;
  for (int round = 0; round < rounds; ++round) {
    std::string s = seeds[rng() % seeds.size()];
    nlohmann::json doc;
    if (round % 2 == 0 && target != kCq &&
        !(doc = nlohmann::json::parse(s, nullptr, false)).is_discarded()) {
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < edits; ++k) {
        std::vector<nlohmann::json*> all;
        CollectValues(doc, all);
        *all[rng() % all.size()] = Values()[rng() % Values().size()];
      }
      s = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      const int edits = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < edits; ++k) {
        const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 5) {
          case 0:
            s.insert(at, 1, static_cast<char>(rng() & 0xFF));
            break;
          case 1:
            if (at < s.size()) s.erase(at, 1 + rng() % 8);
            break;
          case 2: {
            const std::string& other = seeds[rng() % seeds.size()];
            const size_t from = other.empty() ? 0 : rng() % other.size();
            s.insert(at, other.substr(from, rng() % 40));
            break;
          }
          default:
            s.insert(at, tokens[rng() % tokens.size()]);
            break;
        }
      }
    }
    s.insert(s.begin(), static_cast<char>(target));
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  return accepted;
}

TEST(OneBotFuzz, ReportParserSurvivesMutatedReports) {
  const std::vector<std::string> seeds = {
      R"({"self_id":10001,"user_id":40004,"time":1700000000,"message_id":-2147000123,"message_type":"group","sender":{"user_id":40004,"nickname":"alice","card":"Alice","role":"admin"},"raw_message":"hi","sub_type":"normal","message":[{"type":"text","data":{"text":"hi https://a.b"}},{"type":"at","data":{"qq":"10001"}},{"type":"reply","data":{"id":"5"}},{"type":"image","data":{"file":"a.jpg","url":"https://gchat.qpic.cn/a"}},{"type":"json","data":{"data":"{\"app\":\"com.tencent.miniapp_01\"}"}}],"post_type":"message","group_id":20002})",
      R"({"time":1700000001,"self_id":10001,"post_type":"message","message_type":"private","sub_type":"friend","message_id":7,"user_id":"40004","message":"[CQ:reply,id=99]hi[CQ:at,qq=all] &#91;x&#93;[CQ:share,url=https://e.com,title=t][CQ:redbag,title=x]","sender":{"nickname":"alice"},"anonymous":null})",
      R"({"time":1700000000,"self_id":10001,"post_type":"notice","notice_type":"group_increase","sub_type":"invite","group_id":20002,"operator_id":30003,"user_id":40004})",
      R"({"time":1700000100,"self_id":10001,"post_type":"notice","notice_type":"group_decrease","sub_type":"kick","group_id":20002,"operator_id":30003,"user_id":40004})",
      R"({"time":1700000200,"self_id":10001,"post_type":"notice","notice_type":"group_recall","group_id":20002,"user_id":40004,"operator_id":30003,"message_id":-5})",
      R"({"time":1700000300,"self_id":10001,"post_type":"notice","notice_type":"group_ban","sub_type":"ban","group_id":20002,"operator_id":30003,"user_id":40004,"duration":600})",
      R"({"time":1700000500,"self_id":10001,"post_type":"request","request_type":"group","sub_type":"add","group_id":20002,"user_id":40004,"comment":"答案","flag":"170"})",
      R"({"time":1700000400,"self_id":10001,"post_type":"notice","notice_type":"group_admin","sub_type":"set","group_id":20002,"user_id":40004})",
      R"({"time":1700000100,"self_id":10001,"post_type":"notice","notice_type":"group_decrease","sub_type":"kick_me","group_id":20002,"operator_id":30003,"user_id":10001})",
      R"({"time":1700000600,"self_id":10001,"post_type":"meta_event","meta_event_type":"heartbeat","status":{"online":true,"good":true},"interval":30000})",
  };
  const std::vector<std::string> tokens = {"\"",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           ",",
                                           ":",
                                           "null",
                                           "true",
                                           "-1",
                                           "0",
                                           "1e3",
                                           "18446744073709551615",
                                           "\"\\ud800\"",
                                           "\"\\udc00\"",
                                           "\"\\u0000\"",
                                           "\"text\"",
                                           "\"json\"",
                                           "\"xml\"",
                                           "\"file\"",
                                           "\"group\"",
                                           "\"private\"",
                                           "\"kick_me\"",
                                           "\"lift_ban\"",
                                           "[CQ:",
                                           "&#91;",
                                           "&amp;",
                                           "好",
                                           "\xff",
                                           R"({"type":"poke","data":{}})",
                                           R"("message":)",
                                           R"("user_id":10001,)",
                                           R"("time":99999999999,)",
                                           R"("time":"1700000000",)"};
  EXPECT_GT(Mutate(kReport, seeds, tokens, 4000, 20260301), 300);
}

TEST(OneBotFuzz, CqParserSurvivesMutatedStrings) {
  const std::vector<std::string> seeds = {
      "hi[CQ:at,qq=123] [CQ:image,file=a.jpg,url=https://x/?a=1&amp;b=2]&#91;x&#93;",
      "[CQ:share,url=https://e.com/?q=1&#44;2,title=x&#91;y&#93;][CQ:face,id=1]",
      "[CQ:at,qq=[CQ:face,id=5]",
      "[CQ:text,text=a&#44;b]tail",
      "",
      std::string("\xe5\xa5\xbd\xff[CQ:\0", 9)};
  const std::vector<std::string> tokens = {"[CQ:",  "]",     "[",     ",",  "=",    "&", "&#91;",
                                           "&#93;", "&#44;", "&amp;", "at", "text", " "};
  EXPECT_GT(Mutate(kCq, seeds, tokens, 4000, 7), 3000);
}

TEST(OneBotFuzz, ResponseParserSurvivesMutatedResponses) {
  const std::vector<std::string> seeds = {
      R"({"status":"ok","retcode":0,"data":{"message_id":-2147000999},"message":"","wording":"","echo":"qz-7"})",
      R"({"status":"failed","retcode":1400,"data":null,"message":"x","wording":"y","echo":{"n":1}})",
      R"({"status":"ok","retcode":0,"data":[{"user_id":40004,"nickname":"a","card":"","role":"owner","join_time":1690000000},{"user_id":"5"}]})",
      "<html>502</html>"};
  const std::vector<std::string> tokens = {
      "\"",           "{",    "}", "[", "]", ",", ":", "null", "-1", "\"ok\"", "\"failed\"",
      "\"retcode\":", "1e400"};
  EXPECT_GT(Mutate(kResponse, seeds, tokens, 2000, 99), 200);
}

}  // namespace
}  // namespace qz::onebot
#endif  // QZ_LIBFUZZER
