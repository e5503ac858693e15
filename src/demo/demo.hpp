// qunzhu demo: a deterministic, realistic demo community as a stream of canonical events.
// Owns the simulation (members, groups, staff, content, its own PRNG) behind `qunzhu demo`, the
// tests that need lifelike data, and the load benchmarks. Depends only on model.
#pragma once

#include <cstdint>
#include <memory>

#include "model/event.hpp"

namespace qz {

// 2026-03-01T00:00:00+08:00.
inline constexpr TimeMs kDemoDefaultStart = 1772294400000;

// The start that makes `days` simulated days end with yesterday (in +08:00) as of `now`: a demo
// loaded for a person (`init --demo`, `demo --recent`) fills the console's "last 30 days".
TimeMs RecentDemoStart(int days, TimeMs now);

struct DemoOptions {
  uint64_t seed = 42;
  int members = 600;  // people in the two communities together, staff not counted
  int days = 30;      // simulated days, starting at `start` (midnight in +08:00)
  TimeMs start = kDemoDefaultStart;
};

// Streams the events of two communities: `camp`, a 「7天成长营」 learning camp (WeCom groups
// camp-1, camp-2, …, QQ groups camp-qq-1, …) and `fans`, the fan community of a video creator
// (Telegram fans-tg, QQ fans-qq; more groups as `members` grows). Events come in non-decreasing
// time order; the stream is a pure function of the options (the same options give byte-identical
// EventToJson output with any standard library: no std distributions, no unordered iteration,
// no floating point, no clock). Every event parses back with EventParser and round-trips.
//
// Memory is O(members + one day's events): days are simulated one at a time, so
// members=100000, days=90 streams millions of events without holding them. Not thread-safe.
class DemoGenerator {
 public:
  explicit DemoGenerator(DemoOptions options);
  ~DemoGenerator();
  DemoGenerator(const DemoGenerator&) = delete;
  DemoGenerator& operator=(const DemoGenerator&) = delete;

  // Overwrites every field of `out` with the next event (reusing its strings' capacity).
  // Returns false, leaving `out` unspecified, once the stream has ended (and on every later call).
  bool Next(Event& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qz
