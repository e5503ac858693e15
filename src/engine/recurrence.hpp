// qunzhu engine: recurrence rules for durable timers, evaluated in a community's time zone
// (IANA names via the system tz database; DST-correct).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"

namespace qz {

// A parsed rule. Grammar (case-insensitive keywords, times are local HH:MM or HH:MM:SS):
//   "daily 06:20"                      every day
//   "weekly mon,wed,fri 20:00"         on those weekdays (mon tue wed thu fri sat sun)
//   "cron 20 6 * * 1-5"                minute hour day-of-month month day-of-week (0 or 7 =
//                                      Sunday); each field: *, n, a-b, a-b/s, */s, lists a,b
//   "every 15m" / "every 2h" / "every 30s"   a fixed interval from the previous firing
//   "at 2026-03-08 20:00[:SS]"         once, at that local date and time (a course session, a
//                                      step of a timeline); finished once it has passed
class Recurrence {
 public:
  // Errors name the rule and the part that is wrong.
  static Result<Recurrence> Parse(std::string_view rule, std::string_view time_zone);
  // The first firing strictly after `after` (UTC ms), or 0 when there is none (an "at" rule
  // whose instant is not after `after` is finished). For "every", `after` is the previous
  // firing. Local times that do not exist (DST gap) fire at the first instant after the gap;
  // ambiguous ones (DST overlap) fire once, at the earlier instant.
  TimeMs NextAfter(TimeMs after) const;
  const std::string& rule() const;

  struct Impl;
  Recurrence(const Recurrence&);
  Recurrence& operator=(const Recurrence&);
  Recurrence(Recurrence&&) noexcept;
  Recurrence& operator=(Recurrence&&) noexcept;
  ~Recurrence();

 private:
  explicit Recurrence(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// When the bot's own post due at `t` goes out under the quiet hours `start`-`end` ("HH:MM",
// local in `time_zone`, as [community] quiet_hours): their end when `t` falls inside them, else
// `t`; `t` too when `start` is empty or the hours do not parse (the playbook validated them).
// The engine holds send_message and send_direct this way; a module that times something from
// when its message is read asks the same. Thread-safe; the rules are parsed once.
TimeMs QuietHoursEnd(std::string_view start, std::string_view end, std::string_view time_zone, TimeMs t);

// Local calendar helpers in a time zone (for templates and scenario files).
Result<TimeMs> LocalToUtc(std::string_view local_datetime /* "YYYY-MM-DD HH:MM[:SS]" */,
                          std::string_view time_zone);
Result<std::string> UtcToLocal(TimeMs t, std::string_view time_zone,
                               std::string_view format /* strftime-like, e.g. "%Y-%m-%d %H:%M" */);

}  // namespace qz
