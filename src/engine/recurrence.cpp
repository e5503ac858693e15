#include "engine/recurrence.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <array>
#include <utility>
#include <memory>
#include <mutex>
#include <map>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <limits>
#include <optional>
#include <vector>

namespace qz {
namespace {

using std::chrono::seconds;
using LocalSeconds = date::local_seconds;

// Instants outside years 1..9999 are not scheduled (date's calendar covers more, but nothing a
// community schedules is out there, and it keeps all arithmetic far from overflow).
constexpr TimeMs kMinTime = -62135596800000;              // 0001-01-01T00:00:00Z
constexpr TimeMs kMaxTime = 253402300799999;              // 9999-12-31T23:59:59.999Z
constexpr int64_t kMaxIntervalS = int64_t{3660} * 86400;  // "every": at most ~10 years
// A cron rule whose fields admit a date (checked by Parse) fires at least once in any 400-year
// Gregorian cycle; a search that finds nothing within that is over.
constexpr int kCronSearchYears = 401;
// NextAfter steps over local times that map to or before `after` (the repeated hour of a DST
// overlap); at most 60 per hour of overlap for a minutely cron. Far more than ever needed.
constexpr int kMaxCandidates = 10000;

enum class Kind { kDaily, kWeekly, kCron, kEvery, kAt };

// Cron fields as bit sets: minutes bit 0..59, hours 0..23, days 1..31, months 1..12, weekdays
// 0..6 (0 = Sunday).
struct CronSpec {
  uint64_t minutes = 0;
  uint32_t hours = 0;
  uint32_t days = 0;
  uint16_t months = 0;
  uint8_t weekdays = 0;
  // Vixie cron: when both day fields are restricted (neither starts with '*'), a day matches
  // if either matches; otherwise both must (a '*' field matches every day).
  bool either_day = false;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// A non-negative decimal of at most 9 digits, nothing else.
std::optional<int64_t> ParseUint(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};
constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};

std::optional<int> WeekdayByName(std::string_view name) {
  const std::string lower = Lower(name);
  for (size_t i = 0; i < kWeekdayNames.size(); ++i) {
    if (lower == kWeekdayNames[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

Status RuleError(std::string_view rule, std::string_view problem) {
  return Status::Invalid(fmt::format("{}: {}", rule, problem), "rule");
}

Result<const date::time_zone*> FindZone(std::string_view name) {
  if (name.empty()) return Status::Invalid("empty time zone", "time_zone");
  try {
    return date::locate_zone(name);
  } catch (const std::exception& e) {
    return Status::Invalid(fmt::format("unknown time zone '{}'", name), "time_zone");
  }
}

// "HH:MM" or "HH:MM:SS" (hour 0-23, one or two digits) as seconds since local midnight.
Result<int64_t> ParseTimeOfDay(std::string_view rule, std::string_view text) {
  const auto parts = Split(text, ':');
  auto bad = [&] {
    return RuleError(rule, fmt::format("time '{}' is not HH:MM or HH:MM:SS", text));
  };
  if (parts.size() != 2 && parts.size() != 3) return bad();
  if (parts[0].empty() || parts[0].size() > 2) return bad();
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].size() != 2) return bad();
  }
  std::array<int64_t, 3> v{0, 0, 0};
  for (size_t i = 0; i < parts.size(); ++i) {
    auto n = ParseUint(parts[i]);
    if (!n) return bad();
    v[i] = *n;
  }
  if (v[0] > 23 || v[1] > 59 || v[2] > 59) {
    return RuleError(rule, fmt::format("time {} out of range 00:00-23:59:59", text));
  }
  return v[0] * 3600 + v[1] * 60 + v[2];
}

// "YYYY-MM-DD", a day that exists (years 0001-9999).
Result<date::local_days> ParseLocalDate(std::string_view rule, std::string_view text) {
  const bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-';
  auto y = shape ? ParseUint(text.substr(0, 4)) : std::nullopt;
  auto m = shape ? ParseUint(text.substr(5, 2)) : std::nullopt;
  auto d = shape ? ParseUint(text.substr(8, 2)) : std::nullopt;
  if (!y || !m || !d) {
    return RuleError(rule, fmt::format("date '{}' is not YYYY-MM-DD", text));
  }
  const date::year_month_day ymd{date::year{static_cast<int>(*y)},
                                 date::month{static_cast<unsigned>(*m)},
                                 date::day{static_cast<unsigned>(*d)}};
  if (*y < 1 || !ymd.ok()) {
    return RuleError(rule, fmt::format("date {} is not a calendar date", text));
  }
  return date::local_days{ymd};
}

struct FieldDef {
  std::string_view name;
  int min;
  int max;                                  // for day-of-week 7 (another Sunday)
  const std::string_view* names = nullptr;  // names[i] is the value min_named + i
  size_t name_count = 0;
  int min_named = 0;
  bool weekday = false;  // '*' is 0-6 and 7 is 0
};

std::optional<int> FieldValue(const FieldDef& def, std::string_view text) {
  if (auto n = ParseUint(text)) {
    return *n > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                : static_cast<int>(*n);
  }
  const std::string lower = Lower(text);
  for (size_t i = 0; i < def.name_count; ++i) {
    if (lower == def.names[i]) return def.min_named + static_cast<int>(i);
  }
  return std::nullopt;
}

// One cron field: a comma list of *, n, a-b, a-b/s, */s. Sets bit v for each value v.
Status ParseCronField(std::string_view rule, const FieldDef& def, std::string_view text,
                      uint64_t& bits) {
  bits = 0;
  for (std::string_view item : Split(text, ',')) {
    if (item.empty())
      return RuleError(rule, fmt::format("{} '{}' has an empty list item", def.name, text));
    const size_t slash = item.find('/');
    const std::string_view range = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      auto s = ParseUint(step_text);
      if (!s || *s == 0) {
        return RuleError(rule,
                         fmt::format("{} step '{}' is not a positive number", def.name, step_text));
      }
      step = *s > def.max ? def.max + 1 : static_cast<int>(*s);
    }
    int lo = 0;
    int hi = 0;
    if (range == "*") {
      lo = def.min;
      hi = def.weekday ? 6 : def.max;
    } else {
      const size_t dash = range.find('-');
      const std::string_view a = range.substr(0, dash);
      const std::string_view b =
          dash == std::string_view::npos ? std::string_view() : range.substr(dash + 1);
      if (dash == std::string_view::npos && slash != std::string_view::npos) {
        return RuleError(
            rule, fmt::format("{} '{}': a step needs a range (a-b/s or */s)", def.name, item));
      }
      auto va = FieldValue(def, a);
      if (!va) return RuleError(rule, fmt::format("{} '{}' is not a number", def.name, a));
      std::optional<int> vb = va;
      if (dash != std::string_view::npos) {
        vb = FieldValue(def, b);
        if (!vb) return RuleError(rule, fmt::format("{} '{}' is not a number", def.name, b));
      }
      for (int v : {*va, *vb}) {
        if (v < def.min || v > def.max) {
          return RuleError(rule,
                           fmt::format("{} {} out of range {}-{}", def.name, v, def.min, def.max));
        }
      }
      lo = *va;
      hi = *vb;
      if (lo > hi) {
        return RuleError(rule, fmt::format("{} range {} is backwards", def.name, range));
      }
    }
    for (int v = lo; v <= hi; v += step) {
      const int bit = (def.weekday && v == 7) ? 0 : v;
      bits |= uint64_t{1} << bit;
    }
  }
  return Status::Ok();
}

unsigned MaxDaysInMonth(unsigned month) {  // over all years (February: 29)
  constexpr std::array<unsigned, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month - 1];
}

// The lowest set bit at or above `from`, or -1.
int NextBit(uint64_t bits, int from) {
  if (from >= 64) return -1;
  const uint64_t masked = bits & (~uint64_t{0} << from);
  return masked == 0 ? -1 : std::countr_zero(masked);
}

}  // namespace

struct Recurrence::Impl {
  std::string rule;
  Kind kind = Kind::kDaily;
  const date::time_zone* zone = nullptr;  // owned by date's tz database (lives forever)
  int64_t time_of_day_s = 0;              // daily, weekly
  uint8_t weekdays = 0;                   // weekly: bit 0 = Sunday
  CronSpec cron;
  int64_t interval_ms = 0;  // every
  TimeMs at_ms = 0;         // at: the instant (UTC ms)

  // The first local time of the rule at or after `t` (whole seconds), nullopt if none within
  // the search bound.
  std::optional<LocalSeconds> NextLocal(LocalSeconds t) const;
  std::optional<LocalSeconds> NextCron(LocalSeconds t) const;
};

std::optional<LocalSeconds> Recurrence::Impl::NextLocal(LocalSeconds t) const {
  const date::local_days day = date::floor<date::days>(t);
  const seconds tod{time_of_day_s};
  switch (kind) {
    case Kind::kDaily: {
      LocalSeconds c = day + tod;
      if (c < t) c += date::days{1};
      return c;
    }
    case Kind::kWeekly:
      for (int i = 0; i <= 7; ++i) {
        const date::local_days d = day + date::days{i};
        const LocalSeconds c = d + tod;
        if (c >= t && (weekdays >> date::weekday(d).c_encoding()) & 1) return c;
      }
      return std::nullopt;  // unreachable: Parse requires a weekday
    case Kind::kCron:
      return NextCron(t);
    case Kind::kEvery:
    case Kind::kAt:
      break;
  }
  return std::nullopt;
}

// Skips by fields: month, then day, then hour, then minute; never scans minute by minute.
std::optional<LocalSeconds> Recurrence::Impl::NextCron(LocalSeconds t) const {
  // Cron has minute resolution: round up to the next whole minute.
  auto minute_start = date::ceil<std::chrono::minutes>(t);
  const date::local_days start_day = date::floor<date::days>(minute_start);
  const date::year_month_day ymd{start_day};
  const auto since_midnight = minute_start - start_day;
  const int start_hour = static_cast<int>(since_midnight / std::chrono::hours{1});
  const int start_minute =
      static_cast<int>((since_midnight % std::chrono::hours{1}) / std::chrono::minutes{1});
  const int start_year = static_cast<int>(ymd.year());
  const unsigned start_month = static_cast<unsigned>(ymd.month());
  const unsigned start_mday = static_cast<unsigned>(ymd.day());

  for (int y = start_year; y <= start_year + kCronSearchYears; ++y) {
    for (unsigned m = (y == start_year ? start_month : 1); m <= 12; ++m) {
      if (!((cron.months >> m) & 1)) continue;
      const bool start_month_now = y == start_year && m == start_month;
      const date::year_month ym{date::year{y}, date::month{m}};
      const unsigned last = static_cast<unsigned>((ym / date::last).day());
      const date::local_days first_day{ym / date::day{1}};
      const unsigned first_wd = date::weekday(first_day).c_encoding();
      for (unsigned d = start_month_now ? start_mday : 1; d <= last; ++d) {
        const bool dom = (cron.days >> d) & 1;
        const bool dow = (cron.weekdays >> ((first_wd + d - 1) % 7)) & 1;
        if (cron.either_day ? !(dom || dow) : !(dom && dow)) continue;
        const bool start_day_now = start_month_now && d == start_mday;
        for (int h = NextBit(cron.hours, start_day_now ? start_hour : 0); h >= 0;
             h = NextBit(cron.hours, h + 1)) {
          const int mi = NextBit(cron.minutes, start_day_now && h == start_hour ? start_minute : 0);
          if (mi < 0) continue;
          return LocalSeconds{(first_day + date::days{d - 1}).time_since_epoch()} +
                 std::chrono::hours{h} + std::chrono::minutes{mi};
        }
      }
    }
  }
  return std::nullopt;
}

Result<Recurrence> Recurrence::Parse(std::string_view rule, std::string_view time_zone) {
  const auto tokens = SplitWhitespace(rule);
  if (tokens.empty()) {
    return Status::Invalid("empty rule; expected daily, weekly, cron, every or at", "rule");
  }
  auto impl = std::make_unique<Impl>();
  impl->rule = std::string(rule);
  const std::string keyword = Lower(tokens[0]);
  auto arity = [&](size_t n, std::string_view form) -> Status {
    if (tokens.size() == n) return Status::Ok();
    return RuleError(rule, fmt::format("expected '{}'", form));
  };

  if (keyword == "daily") {
    QZ_RETURN_IF_ERROR(arity(2, "daily HH:MM"));
    auto tod = ParseTimeOfDay(rule, tokens[1]);
    if (!tod.ok()) return tod.status();
    impl->kind = Kind::kDaily;
    impl->time_of_day_s = *tod;
  } else if (keyword == "weekly") {
    QZ_RETURN_IF_ERROR(arity(3, "weekly mon,wed,fri HH:MM"));
    for (std::string_view item : Split(tokens[1], ',')) {
      const size_t dash = item.find('-');
      auto a = WeekdayByName(item.substr(0, dash));
      std::optional<int> b = a;
      if (dash != std::string_view::npos) b = WeekdayByName(item.substr(dash + 1));
      if (!a || !b) {
        return RuleError(rule,
                         fmt::format("unknown weekday '{}' (mon tue wed thu fri sat sun)", item));
      }
      // Ranges may wrap past Saturday ("fri-mon").
      for (int d = *a;; d = (d + 1) % 7) {
        impl->weekdays |= static_cast<uint8_t>(1u << d);
        if (d == *b) break;
      }
    }
    auto tod = ParseTimeOfDay(rule, tokens[2]);
    if (!tod.ok()) return tod.status();
    impl->kind = Kind::kWeekly;
    impl->time_of_day_s = *tod;
  } else if (keyword == "cron") {
    QZ_RETURN_IF_ERROR(arity(6, "cron minute hour day-of-month month day-of-week"));
    static constexpr FieldDef kFields[5] = {
        {"minute", 0, 59},
        {"hour", 0, 23},
        {"day-of-month", 1, 31},
        {"month", 1, 12, kMonthNames.data(), kMonthNames.size(), 1},
        {"day-of-week", 0, 7, kWeekdayNames.data(), kWeekdayNames.size(), 0, true},
    };
    std::array<uint64_t, 5> bits{};
    for (size_t i = 0; i < 5; ++i) {
      QZ_RETURN_IF_ERROR(ParseCronField(rule, kFields[i], tokens[i + 1], bits[i]));
    }
    CronSpec& c = impl->cron;
    c.minutes = bits[0];
    c.hours = static_cast<uint32_t>(bits[1]);
    c.days = static_cast<uint32_t>(bits[2]);
    c.months = static_cast<uint16_t>(bits[3]);
    c.weekdays = static_cast<uint8_t>(bits[4]);
    c.either_day = tokens[3][0] != '*' && tokens[5][0] != '*';
    if (!c.either_day) {
      // Every day must match day-of-month: some chosen day must exist in some chosen month
      // (weekdays then come round on it within the 400-year cycle).
      bool possible = false;
      for (unsigned m = 1; m <= 12 && !possible; ++m) {
        if (!((c.months >> m) & 1)) continue;
        possible = (c.days & ((uint64_t{2} << MaxDaysInMonth(m)) - 2)) != 0;
      }
      if (!possible) {
        return RuleError(
            rule, "day-of-month never occurs in the chosen month(s); the rule would never fire");
      }
    }
    impl->kind = Kind::kCron;
  } else if (keyword == "every") {
    QZ_RETURN_IF_ERROR(arity(2, "every N(s|m|h|d)"));
    const std::string_view spec = tokens[1];
    auto bad = [&] {
      return RuleError(rule, fmt::format("interval '{}' is not N followed by s, m, h or d", spec));
    };
    if (spec.size() < 2) return bad();
    auto n = ParseUint(spec.substr(0, spec.size() - 1));
    if (!n) return bad();
    int64_t unit = 0;
    switch (std::tolower(static_cast<unsigned char>(spec.back()))) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return bad();
    }
    if (*n == 0) return RuleError(rule, "interval must be positive");
    if (*n > kMaxIntervalS / unit)
      return RuleError(rule, fmt::format("interval '{}' is longer than 10 years", spec));
    impl->kind = Kind::kEvery;
    impl->interval_ms = *n * unit * 1000;
  } else if (keyword == "at") {
    QZ_RETURN_IF_ERROR(arity(3, "at YYYY-MM-DD HH:MM"));
    auto day = ParseLocalDate(rule, tokens[1]);
    if (!day.ok()) return day.status();
    auto tod = ParseTimeOfDay(rule, tokens[2]);
    if (!tod.ok()) return tod.status();
    auto zone = FindZone(time_zone);
    if (!zone.ok()) return RuleError(rule, zone.status().message());
    impl->kind = Kind::kAt;
    impl->zone = *zone;
    try {
      // The same policy as the other rules: a time in a DST gap is the instant the gap ends; one
      // in an overlap is its earlier instant.
      const date::sys_seconds utc =
          (*zone)->to_sys(LocalSeconds{*day} + seconds{*tod}, date::choose::earliest);
      impl->at_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(utc.time_since_epoch()).count();
    } catch (const std::exception& e) {
      return RuleError(rule, fmt::format("time zone '{}': {}", time_zone, e.what()));
    }
    if (impl->at_ms < kMinTime || impl->at_ms > kMaxTime) {
      return RuleError(rule, fmt::format("date {} out of range", tokens[1]));
    }
    return Recurrence(std::move(impl));
  } else {
    return RuleError(
        rule, fmt::format("unknown rule '{}'; expected daily, weekly, cron, every or at", tokens[0]));
  }

  auto zone = FindZone(time_zone);
  if (!zone.ok()) return RuleError(rule, zone.status().message());
  impl->zone = *zone;
  return Recurrence(std::move(impl));
}

TimeMs Recurrence::NextAfter(TimeMs after) const {
  const Impl& r = *impl_;
  if (after > kMaxTime) return 0;
  if (after < kMinTime) after = kMinTime;
  if (r.kind == Kind::kAt) return r.at_ms > after ? r.at_ms : 0;
  if (r.kind == Kind::kEvery) {
    const TimeMs next = after + r.interval_ms;  // no overflow: both are bounded
    return next > kMaxTime ? 0 : next;
  }
  // Local times of the rule map to UTC monotonically (a DST gap's times map to the instant the
  // gap ends, an overlap's to its earlier instant), so the answer is the image of the first
  // rule time after the local time of `after` whose image is later than `after`.
  try {
    const date::sys_seconds after_s = date::floor<seconds>(
        date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{after}});
    LocalSeconds start = r.zone->to_local(after_s) + seconds{1};
    for (int i = 0; i < kMaxCandidates; ++i) {
      const auto local = r.NextLocal(start);
      if (!local) return 0;
      const date::sys_seconds utc = r.zone->to_sys(*local, date::choose::earliest);
      const TimeMs ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(utc.time_since_epoch()).count();
      if (ms > kMaxTime) return 0;
      if (ms > after) return ms;
      start = *local + seconds{1};
    }
  } catch (const std::exception&) {
    // The tz database could not be read (it is loaded lazily); nothing can be computed.
  }
  return 0;
}

const std::string& Recurrence::rule() const { return impl_->rule; }

Recurrence::Recurrence(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Recurrence::Recurrence(const Recurrence& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Recurrence& Recurrence::operator=(const Recurrence& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Recurrence::Recurrence(Recurrence&&) noexcept = default;
Recurrence& Recurrence::operator=(Recurrence&&) noexcept = default;
Recurrence::~Recurrence() = default;

Result<TimeMs> LocalToUtc(std::string_view local_datetime, std::string_view time_zone) {
  auto zone = FindZone(time_zone);
  if (!zone.ok()) return zone.status();
  auto bad = [&] {
    return Status::Invalid(
        fmt::format("local time '{}' is not YYYY-MM-DD HH:MM[:SS]", local_datetime), "local_time");
  };
  // "YYYY-MM-DD" then ' ' or 'T' then a time of day.
  if (local_datetime.size() < 16 || local_datetime[4] != '-' || local_datetime[7] != '-' ||
      (local_datetime[10] != ' ' && local_datetime[10] != 'T')) {
    return bad();
  }
  auto y = ParseUint(local_datetime.substr(0, 4));
  auto mo = ParseUint(local_datetime.substr(5, 2));
  auto d = ParseUint(local_datetime.substr(8, 2));
  if (!y || !mo || !d) return bad();
  auto tod = ParseTimeOfDay(local_datetime, local_datetime.substr(11));
  if (!tod.ok()) return bad();
  const date::year_month_day ymd{date::year{static_cast<int>(*y)},
                                 date::month{static_cast<unsigned>(*mo)},
                                 date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *y < 1) {
    return Status::Invalid(fmt::format("local time '{}' is not a calendar date", local_datetime),
                           "local_time");
  }
  try {
    // The same policy as recurrences: a time in a DST gap is the instant the gap ends; one in
    // an overlap is its earlier instant.
    const LocalSeconds local = date::local_days{ymd} + seconds{*tod};
    const date::sys_seconds utc = (*zone)->to_sys(local, date::choose::earliest);
    return std::chrono::duration_cast<std::chrono::milliseconds>(utc.time_since_epoch()).count();
  } catch (const std::exception& e) {
    return Status::Unavailable(fmt::format("time zone '{}': {}", time_zone, e.what()));
  }
}

Result<std::string> UtcToLocal(TimeMs t, std::string_view time_zone, std::string_view format) {
  auto zone = FindZone(time_zone);
  if (!zone.ok()) return zone.status();
  if (t < kMinTime || t > kMaxTime) {
    return Status::Invalid(fmt::format("time {} out of range", t), "time");
  }
  try {
    const date::sys_seconds s = date::floor<seconds>(
        date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{t}});
    return date::format(std::string(format), date::make_zoned(*zone, s));
  } catch (const std::exception& e) {
    return Status::Invalid(fmt::format("cannot format with '{}': {}", format, e.what()), "format");
  }
}

TimeMs QuietHoursEnd(std::string_view start, std::string_view end, std::string_view time_zone, TimeMs t) {
  if (start.empty()) return t;
  using Rules = std::pair<Recurrence, Recurrence>;
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Rules>, std::less<>> cache;
  const std::string key = fmt::format("{}|{}|{}", time_zone, start, end);
  std::shared_ptr<const Rules> rules;
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) rules = it->second;
  }
  if (rules == nullptr) {
    auto s = Recurrence::Parse(fmt::format("daily {}", start), time_zone);
    auto e = Recurrence::Parse(fmt::format("daily {}", end), time_zone);
    if (!s.ok() || !e.ok()) return t;
    rules = std::make_shared<const Rules>(std::move(*s), std::move(*e));
    std::lock_guard lock(mu);
    cache.try_emplace(key, rules);
  }
  // Inside the quiet hours exactly when their end comes before their next start.
  const TimeMs quiet_end = rules->second.NextAfter(t);
  return quiet_end < rules->first.NextAfter(t) ? quiet_end : t;
}

}  // namespace qz
