// qunzhu moderation: the module's state tables. Everything here is rebuilt by replay from the
// log: decisions, strikes, the blacklist, and the short windows flood and cross-group spam need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qz::moderation {

// One decision: what was seen, why, and what was done (or would have been, in dry run). Cold:
// decisions only accumulate, and the writer reads one back only for an operator's undo or
// confirm, so they are not kept in its memory.
struct DecisionRow {
  static constexpr std::string_view kTable = "decisions";
  static constexpr bool kCold = true;
  int64_t id = 0;
  int64_t time = 0;         // the message's time, UTC ms
  std::string group;        // "<platform>:<id>"
  std::string member;       // "<platform>:<id>"
  int64_t member_id = 0;
  std::string name;         // the member's display name then
  std::string event;        // the cause, "<platform>:<id>"
  std::string signal;       // text, kind, flood, cross_group, mentions, model, blacklist, chitchat
  std::string category;     // ads, fraud, contact, url… or the kind / signal
  std::string rule;         // what matched: the lexicon term, the pattern's name, the kind…
  std::string quotes;       // JSON array of the matched spans, quoted from the original text
  std::string text;         // the message as typed (for review and retraining), ≤ 4 KiB
  double score = 0;
  int64_t strikes = 0;      // the member's strikes after this decision
  std::string actions;      // what was done: "delete,warn", "delete,mute:3600", "nudge"…
  bool dry_run = false;
  std::string status;       // applied | dry_run | undone
  std::string verdict;      // "" | spam | not_spam (an operator's confirm / undo)
  std::string operator_name;  // who undid or confirmed it
  int64_t reviewed_at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("id", id);
    v.Value("time", time);
    v.Value("group", group);
    v.Value("member", member);
    v.Value("member_id", member_id);
    v.Value("name", name);
    v.Value("event", event);
    v.Value("signal", signal);
    v.Value("category", category);
    v.Value("rule", rule);
    v.Value("quotes", quotes);
    v.Value("text", text);
    v.Value("score", score);
    v.Value("strikes", strikes);
    v.Value("actions", actions);
    v.Value("dry_run", dry_run);
    v.Value("status", status);
    v.Value("verdict", verdict);
    v.Value("operator", operator_name);
    v.Value("reviewed_at", reviewed_at);
  }
};

// A member's standing, one row per member a decision concerned: strikes (they decay by one per
// `strike_decay` since the last one), the last decision (what an appeal is about) and the last
// nudge (so nudges do not nag).
struct StandingRow {
  static constexpr std::string_view kTable = "standing";
  int64_t member = 0;
  int64_t strikes = 0;
  int64_t strike_at = 0;
  int64_t last_decision = 0;
  int64_t nudged_at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("strikes", strikes);
    v.Value("strike_at", strike_at);
    v.Value("last_decision", last_decision);
    v.Value("nudged_at", nudged_at);
  }
};

// Removed for good from the community: removed again on joining any of its groups.
struct BlacklistRow {
  static constexpr std::string_view kTable = "blacklist";
  int64_t member = 0;
  int64_t since = 0;
  int64_t decision = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("since", since);
    v.Value("decision", decision);
  }
};

// A member's current burst in one group (flood): written only while messages come closer than
// the flood window. Ephemeral: a restart forgets the bursts under way.
struct BurstRow {
  static constexpr std::string_view kTable = "bursts";
  static constexpr bool kEphemeral = true;
  int64_t member = 0;
  int64_t group = 0;
  int64_t start = 0;
  int64_t count = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Key("group", group);
    v.Value("start", start);
    v.Value("count", count);
  }
};

// The last long text a member posted and the groups it went to (cross-group spam). Ephemeral:
// a restart forgets the texts under watch.
struct EchoRow {
  static constexpr std::string_view kTable = "echoes";
  static constexpr bool kEphemeral = true;
  int64_t member = 0;
  int64_t hash = 0;
  std::string groups;  // group ids, comma-separated
  int64_t first_at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("hash", hash);
    v.Value("groups", groups);
    v.Value("first_at", first_at);
  }
};

// Counters: the last decision id.
struct CounterRow {
  static constexpr std::string_view kTable = "counters";
  std::string name;
  int64_t value = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("name", name);
    v.Value("value", value);
  }
};

}  // namespace qz::moderation
