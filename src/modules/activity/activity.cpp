#include "modules/activity/activity.hpp"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

#include "model/entities.hpp"

namespace qz {
namespace {

constexpr TimeMs kDayMs = 86'400'000;

const date::time_zone* ZoneOrDefault(std::string_view name) {
  try {
    return date::locate_zone(name.empty() ? kDefaultTimeZone : name);
  } catch (const std::exception&) {
    return date::locate_zone(kDefaultTimeZone);
  }
}

class ActivityModule final : public Module {
 public:
  std::string_view name() const override { return "activity"; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<ActivityDayRow>()}; }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    const Group* group = ctx.group();
    if (group == nullptr) return Status::Ok();
    int64_t ActivityDayRow::*counter = nullptr;
    switch (e.type) {
      case EventType::kMessage:
        counter = &ActivityDayRow::messages;
        break;
      case EventType::kMemberJoined:
        counter = &ActivityDayRow::joins;
        break;
      case EventType::kMemberLeft:
        counter = &ActivityDayRow::leaves;
        break;
      default:
        return Status::Ok();
    }
    ActivityDayRow row{.group = group->id, .day = LocalDay(e.time, group->time_zone)};
    if (auto stored = ctx.Find(row)) row = std::move(*stored);
    ++(row.*counter);
    ctx.Put(row);
    return Status::Ok();
  }
};

}  // namespace

int64_t DayNumber(int64_t days_since_epoch) {
  const date::year_month_day ymd{date::sys_days{date::days{days_since_epoch}}};
  return int64_t{static_cast<int>(ymd.year())} * 10000 + static_cast<unsigned>(ymd.month()) * 100 +
         static_cast<unsigned>(ymd.day());
}

int64_t DaysSinceEpoch(int64_t yyyymmdd) {
  const date::sys_days d{date::year{static_cast<int>(yyyymmdd / 10000)} /
                         date::month{static_cast<unsigned>(yyyymmdd / 100 % 100)} /
                         date::day{static_cast<unsigned>(yyyymmdd % 100)}};
  return d.time_since_epoch().count();
}

int64_t LocalDay(TimeMs t, std::string_view time_zone) {
  // The day and the UTC span [from, to) in which it and the zone's offset stay the same.
  struct Cache {
    std::string zone;
    TimeMs from = 1;
    TimeMs to = 0;
    int64_t day = 0;
  };
  thread_local Cache cache;
  if (t >= cache.from && t < cache.to && cache.zone == time_zone) return cache.day;

  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const date::time_zone* zone = ZoneOrDefault(time_zone);
  const date::sys_seconds at = date::floor<seconds>(date::sys_time<milliseconds>{milliseconds{t}});
  const date::sys_info info = zone->get_info(at);
  const TimeMs offset = info.offset.count() * 1000;
  // Floor division: times before 1970 have negative local milliseconds.
  const TimeMs local = t + offset;
  const int64_t index = local / kDayMs - (local % kDayMs < 0 ? 1 : 0);
  const int64_t day = DayNumber(index);

  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
  const auto to_ms = [&](date::sys_seconds s) {
    const int64_t n = s.time_since_epoch().count();
    return n >= kMaxSeconds ? std::numeric_limits<TimeMs>::max()
                            : (n <= -kMaxSeconds ? std::numeric_limits<TimeMs>::min() : n * 1000);
  };
  cache.zone.assign(time_zone);
  cache.from = std::max(index * kDayMs - offset, to_ms(info.begin));
  cache.to = std::min((index + 1) * kDayMs - offset, to_ms(info.end));
  cache.day = day;
  return day;
}

std::unique_ptr<Module> MakeActivityModule() { return std::make_unique<ActivityModule>(); }

}  // namespace qz
