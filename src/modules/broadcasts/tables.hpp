// The broadcasts module's rows (shared by the module and its routes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qz::broadcasts {

struct BroadcastRow {
  static constexpr std::string_view kTable = "broadcasts";
  std::string id;
  std::string text_zh;
  std::string text_en;
  std::string target;  // as asked: "groups", "group_type:<type>" or "tag:<tag>"
  std::string groups;  // the groups it went (or goes) to, "platform:id" a line
  int64_t count = 0;   // lines in `groups`
  std::string status = "scheduled";  // scheduled | sent | cancelled
  int64_t at = 0;       // when it is (or was) due, ms
  int64_t sent_at = 0;
  std::string cause;    // "<platform>:<event id>" of the event that sent it
  std::string created_by;
  int64_t created_at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("id", id);
    v.Value("text_zh", text_zh);
    v.Value("text_en", text_en);
    v.Value("target", target);
    v.Value("groups", groups);
    v.Value("count", count);
    v.Value("status", status);
    v.Value("at", at);
    v.Value("sent_at", sent_at);
    v.Value("cause", cause);
    v.Value("created_by", created_by);
    v.Value("created_at", created_at);
  }
};

}  // namespace qz::broadcasts
