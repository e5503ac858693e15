// The invites module's rows (shared by the module and its routes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qz::invites {

// One invite code.
struct CodeRow {
  static constexpr std::string_view kTable = "codes";
  std::string code;
  std::string kind = "group";  // group | live
  std::string group;           // "platform:id" (kind group)
  std::string channel;         // where the code is used: a poster, an ad, a member's share
  std::string inviter;         // external id of the member it belongs to (a member's own code)
  std::string created_by;      // the operator
  int64_t created_at = 0;
  int64_t joins = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("code", code);
    v.Value("kind", kind);
    v.Value("group", group);
    v.Value("channel", channel);
    v.Value("inviter", inviter);
    v.Value("created_by", created_by);
    v.Value("created_at", created_at);
    v.Value("joins", joins);
  }
};

// A join a code brought (the first join of each member by that code).
struct JoinRow {
  static constexpr std::string_view kTable = "joins";
  std::string code;
  std::string member;  // "platform:id"
  std::string group;   // "platform:id"
  std::string name;
  std::string inviter;  // external id, from the join event (or the code's own)
  int64_t at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("code", code);
    v.Key("member", member);
    v.Value("group", group);
    v.Value("name", name);
    v.Value("inviter", inviter);
    v.Value("at", at);
  }
};

// Per live code: the overflow group an operator was last asked to create.
struct OverflowRow {
  static constexpr std::string_view kTable = "overflow";
  std::string code;
  int64_t n = 0;
  int64_t at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("code", code);
    v.Value("n", n);
    v.Value("at", at);
  }
};

// Per member who asked for a group by keyword: the last ask, and when they then joined it.
struct AskRow {
  static constexpr std::string_view kTable = "asks";
  std::string member;   // "platform:id"
  std::string keyword;  // the entry's first keyword
  std::string group;    // "platform:id" handed out; empty when every group was full
  int64_t at = 0;
  int64_t asks = 0;       // how many times they asked
  int64_t joined_at = 0;  // 0: not (yet) joined that group
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("keyword", keyword);
    v.Value("group", group);
    v.Value("at", at);
    v.Value("asks", asks);
    v.Value("joined_at", joined_at);
  }
};

}  // namespace qz::invites
