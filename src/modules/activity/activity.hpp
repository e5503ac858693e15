// qunzhu module `activity` (活跃度): counts, per group and local day, the joins, leaves and
// messages, for the console's charts (the Overview's daily chart, the groups' sparklines) and
// the KPI reviews to come. Always on, no playbook section. The day is the group's calendar day
// in its time zone (default Asia/Shanghai), written yyyymmdd. What is counted is what members
// did: a message moderation deleted was still posted and counts; derived and system events do
// not.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/module.hpp"

namespace qz {

// One row per group and day with anything counted.
struct ActivityDayRow {
  static constexpr std::string_view kTable = "days";
  int64_t group = 0;  // key: the group id
  int64_t day = 0;    // key: yyyymmdd in the group's time zone
  int64_t joins = 0;
  int64_t leaves = 0;
  int64_t messages = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Key("day", day);
    v.Value("joins", joins);
    v.Value("leaves", leaves);
    v.Value("messages", messages);
  }
};

// The qualified table the routes read: "activity.days".
inline constexpr std::string_view kActivityDaysTable = "activity.days";

// A day as yyyymmdd and as days since 1970-01-01 (the proleptic Gregorian calendar), both ways.
int64_t DayNumber(int64_t days_since_epoch);
int64_t DaysSinceEpoch(int64_t yyyymmdd);

// yyyymmdd of `t` in `time_zone` (an IANA name; "" or an unknown one: Asia/Shanghai, the
// default of a group). Remembers the last zone and day per thread, so a run of events of one
// day costs a comparison.
int64_t LocalDay(TimeMs t, std::string_view time_zone);

std::unique_ptr<Module> MakeActivityModule();

}  // namespace qz
