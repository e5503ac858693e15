#include "engine/recurrence.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/time.hpp"

namespace qz {
namespace {

constexpr std::string_view kShanghai = "Asia/Shanghai";
constexpr std::string_view kNewYork = "America/New_York";

TimeMs T(std::string_view rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? t->ms : 0;
}

// The UTC form, so a failing expectation prints something readable.
std::string Z(TimeMs t) { return t == 0 ? "0 (never)" : FormatRfc3339(t); }

Recurrence Rule(std::string_view rule, std::string_view tz = kShanghai) {
  auto r = Recurrence::Parse(rule, tz);
  EXPECT_TRUE(r.ok()) << rule << ": " << r.status().ToString();
  if (!r.ok()) return *Recurrence::Parse("daily 00:00", "UTC");
  return std::move(*r);
}

std::string ParseError(std::string_view rule, std::string_view tz = kShanghai) {
  auto r = Recurrence::Parse(rule, tz);
  EXPECT_FALSE(r.ok()) << rule << " parsed";
  return r.ok() ? "" : r.status().message();
}

// The firings after `from`, each the NextAfter of the previous.
std::vector<std::string> Firings(const Recurrence& r, TimeMs from, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    from = r.NextAfter(from);
    out.push_back(Z(from));
    if (from == 0) break;
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(Recurrence, DailyFiresAtTheLocalTimeStrictlyAfter) {
  const Recurrence r = Rule("daily 06:20");
  EXPECT_EQ(r.rule(), "daily 06:20");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T06:19:59.999+08:00"))), "2026-02-28T22:20:00Z");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T06:20:00+08:00"))), "2026-03-01T22:20:00Z");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T06:20:00.001+08:00"))), "2026-03-01T22:20:00Z");
  EXPECT_EQ(Firings(r, T("2026-03-01T00:00:00+08:00"), 3),
            (Strings{"2026-02-28T22:20:00Z", "2026-03-01T22:20:00Z", "2026-03-02T22:20:00Z"}));
  EXPECT_EQ(Z(Rule("daily 06:20:30").NextAfter(T("2026-03-01T06:20:00+08:00"))),
            "2026-02-28T22:20:30Z");
}

TEST(Recurrence, ShanghaiMidnightIsSixteenHundredUtc) {
  const Recurrence r = Rule("daily 00:05");
  // 23:59 local on 1 March is 15:59 UTC; the next 00:05 local is 2 March, 16:05 UTC on 1 March.
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T15:59:00Z"))), "2026-03-01T16:05:00Z");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T16:00:00Z"))), "2026-03-01T16:05:00Z");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T16:04:59Z"))), "2026-03-01T16:05:00Z");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T16:05:00Z"))), "2026-03-02T16:05:00Z");
  // And a weekly rule sees the local weekday, not the UTC one: Monday 00:05 in Shanghai is
  // Sunday 16:05 UTC.
  EXPECT_EQ(Z(Rule("weekly mon 00:05").NextAfter(T("2026-03-01T12:00:00Z"))),
            "2026-03-01T16:05:00Z");
}

TEST(Recurrence, NewYorkSpringForwardFiresAtTheEndOfTheGap) {
  // 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00 UTC); 02:30 does not exist that day.
  const Recurrence r = Rule("daily 02:30", kNewYork);
  EXPECT_EQ(Firings(r, T("2026-03-06T12:00:00-05:00"), 3),
            (Strings{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));
  // A time after the gap is unaffected; its UTC time moves by an hour.
  EXPECT_EQ(Firings(Rule("daily 09:00", kNewYork), T("2026-03-07T00:00:00-05:00"), 2),
            (Strings{"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"}));
  // Every half hour: the gap's times all map to its end, which fires once.
  EXPECT_EQ(Firings(Rule("cron */30 * * * *", kNewYork), T("2026-03-08T01:00:00-05:00"), 4),
            (Strings{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",
                     "2026-03-08T08:00:00Z"}));
}

TEST(Recurrence, NewYorkFallBackFiresOnceAtTheEarlierInstant) {
  // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:00-01:59 happen twice.
  const Recurrence r = Rule("daily 01:30", kNewYork);
  EXPECT_EQ(Firings(r, T("2026-10-31T12:00:00-04:00"), 3),
            (Strings{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"}));
  // Asked from inside the repeated hour (01:15 EST, the second pass), it does not fire again.
  EXPECT_EQ(Z(r.NextAfter(T("2026-11-01T01:15:00-05:00"))), "2026-11-02T06:30:00Z");
  // Half-hourly: 01:00 and 01:30 EDT, then 02:00 EST; the repeated hour is not fired twice.
  EXPECT_EQ(Firings(Rule("cron 0,30 * * * *", kNewYork), T("2026-11-01T00:45:00-04:00"), 4),
            (Strings{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z",
                     "2026-11-01T07:30:00Z"}));
  // A fixed interval is plain UTC arithmetic, through the change too.
  EXPECT_EQ(Firings(Rule("every 1h", kNewYork), T("2026-11-01T05:00:00Z"), 2),
            (Strings{"2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"}));
}

TEST(Recurrence, Weekly) {
  // 2026-03-01 is a Sunday.
  const Recurrence r = Rule("weekly mon,wed,fri 20:00");
  EXPECT_EQ(Firings(r, T("2026-03-01T12:00:00+08:00"), 4),
            (Strings{"2026-03-02T12:00:00Z", "2026-03-04T12:00:00Z", "2026-03-06T12:00:00Z",
                     "2026-03-09T12:00:00Z"}));
  // Same day, before and after the time.
  EXPECT_EQ(Z(Rule("weekly sun 20:00").NextAfter(T("2026-03-01T19:00:00+08:00"))),
            "2026-03-01T12:00:00Z");
  EXPECT_EQ(Z(Rule("weekly sun 20:00").NextAfter(T("2026-03-01T20:00:00+08:00"))),
            "2026-03-08T12:00:00Z");
  // Ranges, also wrapping past Saturday; keywords and names are case-insensitive.
  EXPECT_EQ(Firings(Rule("WEEKLY Fri-Mon 08:00"), T("2026-03-03T00:00:00+08:00"), 5),
            (Strings{"2026-03-06T00:00:00Z", "2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z",
                     "2026-03-09T00:00:00Z", "2026-03-13T00:00:00Z"}));
}

TEST(Recurrence, CronFieldsListsRangesSteps) {
  // Weekdays at 06:20; Friday 6 March 07:00 -> Monday 9 March.
  EXPECT_EQ(Z(Rule("cron 20 6 * * 1-5").NextAfter(T("2026-03-06T07:00:00+08:00"))),
            "2026-03-08T22:20:00Z");
  EXPECT_EQ(Firings(Rule("cron 0,30 9-17/4 * * *"), T("2026-03-01T09:10:00+08:00"), 6),
            (Strings{"2026-03-01T01:30:00Z", "2026-03-01T05:00:00Z", "2026-03-01T05:30:00Z",
                     "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z", "2026-03-02T01:00:00Z"}));
  EXPECT_EQ(Firings(Rule("cron */15 * * * *"), T("2026-03-01T10:50:00+08:00"), 3),
            (Strings{"2026-03-01T03:00:00Z", "2026-03-01T03:15:00Z", "2026-03-01T03:30:00Z"}));
  EXPECT_EQ(Firings(Rule("cron 0 0 1 JAN,jul *"), T("2026-03-01T00:00:00+08:00"), 2),
            (Strings{"2026-06-30T16:00:00Z", "2026-12-31T16:00:00Z"}));
  // 7 and 0 are both Sunday; names work too.
  EXPECT_EQ(Z(Rule("cron 0 12 * * 7").NextAfter(T("2026-03-02T00:00:00+08:00"))),
            "2026-03-08T04:00:00Z");
  EXPECT_EQ(Z(Rule("cron 0 12 * * sun").NextAfter(T("2026-03-02T00:00:00+08:00"))),
            "2026-03-08T04:00:00Z");
  // Every minute: the next whole minute, also from a time with seconds.
  EXPECT_EQ(Z(Rule("cron * * * * *").NextAfter(T("2026-03-01T10:50:01.5+08:00"))),
            "2026-03-01T02:51:00Z");
}

TEST(Recurrence, CronDayOfMonthOrDayOfWeekLikeVixie) {
  // Both restricted: the 13th or any Friday. April 2026: Fridays 3, 10, 17; the 13th a Monday.
  EXPECT_EQ(Firings(Rule("cron 0 0 13 * 5", "UTC"), T("2026-04-04T00:00:00Z"), 3),
            (Strings{"2026-04-10T00:00:00Z", "2026-04-13T00:00:00Z", "2026-04-17T00:00:00Z"}));
  // Day-of-month '*': only the weekday restricts.
  EXPECT_EQ(Z(Rule("cron 0 0 * * 1", "UTC").NextAfter(T("2026-04-04T00:00:00Z"))),
            "2026-04-06T00:00:00Z");
  // A field starting with '*' counts as unrestricted for the OR, so both must match:
  EXPECT_EQ(Z(Rule("cron 0 0 1-31/10 * */7", "UTC").NextAfter(T("2026-04-04T00:00:00Z"))),
            "2026-05-31T00:00:00Z");  // 1-31/10 is restricted, */7 (Sunday) is not: AND
}

TEST(Recurrence, LeapDaysAndMonthEnds) {
  EXPECT_EQ(Firings(Rule("cron 0 12 29 2 *"), T("2026-01-01T00:00:00+08:00"), 2),
            (Strings{"2028-02-29T04:00:00Z", "2032-02-29T04:00:00Z"}));
  // The 31st skips the shorter months.
  EXPECT_EQ(Firings(Rule("cron 0 0 31 * *", "UTC"), T("2026-04-01T00:00:00Z"), 3),
            (Strings{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}));
  // Feb 29 that is a Sunday (AND: the weekday field starts with '*'): 2032.
  EXPECT_EQ(Z(Rule("cron 0 0 29 2 */7", "UTC").NextAfter(T("2026-01-01T00:00:00Z"))),
            "2032-02-29T00:00:00Z");
  // Daily across 28/29 February.
  EXPECT_EQ(Firings(Rule("daily 23:30", "UTC"), T("2028-02-28T23:30:00Z"), 2),
            (Strings{"2028-02-29T23:30:00Z", "2028-03-01T23:30:00Z"}));
  // A date that never exists is refused when parsed.
  EXPECT_EQ(ParseError("cron 0 0 30 2 *"),
            "cron 0 0 30 2 *: day-of-month never occurs in the chosen month(s); the rule would "
            "never fire");
  ParseError("cron 0 0 31 4,6,9,11 *");
  // ... but with a weekday as the alternative it fires on the weekday: Mondays in February.
  EXPECT_EQ(Z(Rule("cron 0 0 30 2 1", "UTC").NextAfter(T("2026-04-04T00:00:00Z"))),
            "2027-02-01T00:00:00Z");
}

TEST(Recurrence, NoFiringBeyondYear9999IsZero) {
  EXPECT_EQ(Rule("cron 0 0 29 2 *", "UTC").NextAfter(T("9999-03-01T00:00:00Z")), 0);
  EXPECT_EQ(Rule("daily 06:00", "UTC").NextAfter(T("9999-12-31T07:00:00Z")), 0);
  EXPECT_EQ(Rule("every 1d", "UTC").NextAfter(T("9999-12-31T07:00:00Z")), 0);
}

TEST(Recurrence, CronSearchSkipsByFields) {
  // A sparse rule, a leap day 2096 -> 2104 (2100 is no leap year), and a quick one, many times:
  // each NextAfter is a few hundred steps at most, not a scan over minutes.
  const Recurrence leap = Rule("cron 59 23 29 2 *", "UTC");
  EXPECT_EQ(Z(leap.NextAfter(T("2096-03-01T00:00:00Z"))), "2104-02-29T23:59:00Z");
  const auto start = std::chrono::steady_clock::now();
  TimeMs t = T("2026-01-01T00:00:00Z");
  for (int i = 0; i < 2000; ++i) {
    t = leap.NextAfter(T("2026-01-01T00:00:00Z") + i);
  }
  EXPECT_EQ(Z(t), "2028-02-29T23:59:00Z");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Recurrence, Every) {
  const TimeMs t0 = T("2026-03-01T06:20:00+08:00");
  EXPECT_EQ(Rule("every 30s").NextAfter(t0), t0 + 30'000);
  EXPECT_EQ(Rule("every 15m").NextAfter(t0), t0 + 15 * 60'000);
  EXPECT_EQ(Rule("every 2h").NextAfter(t0), t0 + 2 * 3'600'000);
  EXPECT_EQ(Rule("Every 1D").NextAfter(t0), t0 + 86'400'000);
  EXPECT_EQ(Rule("every 15m").NextAfter(t0 + 7), t0 + 7 + 15 * 60'000);
}

TEST(Recurrence, ErrorsNameTheRuleAndThePart) {
  EXPECT_EQ(ParseError("cron 61 * * * *"), "cron 61 * * * *: minute 61 out of range 0-59");
  EXPECT_EQ(ParseError("cron 0 24 * * *"), "cron 0 24 * * *: hour 24 out of range 0-23");
  EXPECT_EQ(ParseError("cron 0 0 0 * *"), "cron 0 0 0 * *: day-of-month 0 out of range 1-31");
  EXPECT_EQ(ParseError("cron 0 0 * 13 *"), "cron 0 0 * 13 *: month 13 out of range 1-12");
  EXPECT_EQ(ParseError("cron 0 0 * * 8"), "cron 0 0 * * 8: day-of-week 8 out of range 0-7");
  EXPECT_EQ(ParseError("cron 50-10 * * * *"),
            "cron 50-10 * * * *: minute range 50-10 is backwards");
  EXPECT_EQ(ParseError("cron */0 * * * *"),
            "cron */0 * * * *: minute step '0' is not a positive number");
  EXPECT_EQ(ParseError("cron 5/15 * * * *"),
            "cron 5/15 * * * *: minute '5/15': a step needs a range (a-b/s or */s)");
  EXPECT_EQ(ParseError("cron x * * * *"), "cron x * * * *: minute 'x' is not a number");
  EXPECT_EQ(ParseError("cron 1,,2 * * * *"),
            "cron 1,,2 * * * *: minute '1,,2' has an empty list item");
  EXPECT_EQ(ParseError("cron * * * *"),
            "cron * * * *: expected 'cron minute hour day-of-month month day-of-week'");
  EXPECT_EQ(ParseError("daily 25:00"), "daily 25:00: time 25:00 out of range 00:00-23:59:59");
  EXPECT_EQ(ParseError("daily 6h20"), "daily 6h20: time '6h20' is not HH:MM or HH:MM:SS");
  EXPECT_EQ(ParseError("daily 06:2"), "daily 06:2: time '06:2' is not HH:MM or HH:MM:SS");
  EXPECT_EQ(ParseError("daily"), "daily: expected 'daily HH:MM'");
  EXPECT_EQ(ParseError("weekly xyz 20:00"),
            "weekly xyz 20:00: unknown weekday 'xyz' (mon tue wed thu fri sat sun)");
  EXPECT_EQ(ParseError("every 0m"), "every 0m: interval must be positive");
  EXPECT_EQ(ParseError("every 15x"), "every 15x: interval '15x' is not N followed by s, m, h or d");
  EXPECT_EQ(ParseError("every m"), "every m: interval 'm' is not N followed by s, m, h or d");
  EXPECT_EQ(ParseError("every 99999d"), "every 99999d: interval '99999d' is longer than 10 years");
  EXPECT_EQ(ParseError("fortnightly 06:00"),
            "fortnightly 06:00: unknown rule 'fortnightly'; expected daily, weekly, cron, every or at");
  EXPECT_EQ(ParseError("  "), "empty rule; expected daily, weekly, cron, every or at");
  EXPECT_EQ(ParseError("daily 06:20", "Mars/Olympus_Mons"),
            "daily 06:20: unknown time zone 'Mars/Olympus_Mons'");
  EXPECT_EQ(ParseError("daily 06:20", ""), "daily 06:20: empty time zone");
  auto r = Recurrence::Parse("cron 61 * * * *", kShanghai);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "rule");
}

TEST(Recurrence, AtFiresOnceAtTheLocalInstantThenIsFinished) {
  const Recurrence r = Rule("at 2026-03-08 20:00");
  const TimeMs session = T("2026-03-08T20:00:00+08:00");
  EXPECT_EQ(Z(r.NextAfter(T("2026-03-01T00:00:00+08:00"))), "2026-03-08T12:00:00Z");
  EXPECT_EQ(r.NextAfter(session - 1), session);
  // Not strictly after: finished (a session in the past never fires; a fired one never again).
  EXPECT_EQ(r.NextAfter(session), 0);
  EXPECT_EQ(r.NextAfter(session + 1), 0);
  EXPECT_EQ(Firings(r, session - 86'400'000, 3), (std::vector<std::string>{"2026-03-08T12:00:00Z", "0 (never)"}));
  EXPECT_EQ(Z(Rule("AT 2026-03-08 20:00:30").NextAfter(0)), "2026-03-08T12:00:30Z");
  EXPECT_EQ(Z(Rule("at 2026-03-08 20:00", "UTC").NextAfter(0)), "2026-03-08T20:00:00Z");
  EXPECT_EQ(Z(Rule("at 2028-02-29 0:05").NextAfter(0)), "2028-02-28T16:05:00Z");
  EXPECT_EQ(Rule("at 2026-03-08 20:00").rule(), "at 2026-03-08 20:00");
}

TEST(Recurrence, AtIsDstCorrect) {
  // New York: 02:30 on 2026-03-08 does not exist (the gap's end, 03:00 EDT); 01:30 on
  // 2026-11-01 happens twice (the earlier, EDT).
  EXPECT_EQ(Z(Rule("at 2026-03-08 02:30", kNewYork).NextAfter(0)), "2026-03-08T07:00:00Z");
  EXPECT_EQ(Z(Rule("at 2026-11-01 01:30", kNewYork).NextAfter(0)), "2026-11-01T05:30:00Z");
  EXPECT_EQ(Z(Rule("at 2026-07-01 09:00", kNewYork).NextAfter(0)), "2026-07-01T13:00:00Z");
  EXPECT_EQ(Z(Rule("at 2026-12-01 09:00", kNewYork).NextAfter(0)), "2026-12-01T14:00:00Z");
}

TEST(Recurrence, AtErrorsNameThePart) {
  EXPECT_EQ(ParseError("at 2026-02-30 20:00"), "at 2026-02-30 20:00: date 2026-02-30 is not a calendar date");
  EXPECT_EQ(ParseError("at 2026-13-01 20:00"), "at 2026-13-01 20:00: date 2026-13-01 is not a calendar date");
  EXPECT_EQ(ParseError("at 0000-01-01 20:00"), "at 0000-01-01 20:00: date 0000-01-01 is not a calendar date");
  EXPECT_EQ(ParseError("at 2026-3-8 20:00"), "at 2026-3-8 20:00: date '2026-3-8' is not YYYY-MM-DD");
  EXPECT_EQ(ParseError("at 2026/03/08 20:00"), "at 2026/03/08 20:00: date '2026/03/08' is not YYYY-MM-DD");
  EXPECT_EQ(ParseError("at 2026-03-08 24:00"), "at 2026-03-08 24:00: time 24:00 out of range 00:00-23:59:59");
  EXPECT_EQ(ParseError("at 2026-03-08 8pm"), "at 2026-03-08 8pm: time '8pm' is not HH:MM or HH:MM:SS");
  EXPECT_EQ(ParseError("at 20:00"), "at 20:00: expected 'at YYYY-MM-DD HH:MM'");
  EXPECT_EQ(ParseError("at 2026-03-08"), "at 2026-03-08: expected 'at YYYY-MM-DD HH:MM'");
  EXPECT_EQ(ParseError("at 2026-03-08 20:00 x"), "at 2026-03-08 20:00 x: expected 'at YYYY-MM-DD HH:MM'");
  EXPECT_EQ(ParseError("at 2026-03-08 20:00", "Mars/Olympus_Mons"),
            "at 2026-03-08 20:00: unknown time zone 'Mars/Olympus_Mons'");
}

TEST(Recurrence, CopiesAndMovesAreIndependent) {
  Recurrence a = Rule("daily 06:20");
  Recurrence b = a;
  a = Rule("every 1m");
  EXPECT_EQ(b.rule(), "daily 06:20");
  Recurrence c = std::move(b);
  EXPECT_EQ(c.rule(), "daily 06:20");
  EXPECT_EQ(Z(c.NextAfter(T("2026-03-01T00:00:00+08:00"))), "2026-02-28T22:20:00Z");
  EXPECT_EQ(a.NextAfter(0), 60'000);
}

TEST(LocalTime, LocalToUtc) {
  EXPECT_EQ(Z(*LocalToUtc("2026-03-01 06:20", kShanghai)), "2026-02-28T22:20:00Z");
  EXPECT_EQ(Z(*LocalToUtc("2026-03-02 00:05:30", kShanghai)), "2026-03-01T16:05:30Z");
  EXPECT_EQ(Z(*LocalToUtc("2026-03-02T00:05", kShanghai)), "2026-03-01T16:05:00Z");
  EXPECT_EQ(Z(*LocalToUtc("2028-02-29 12:00", "UTC")), "2028-02-29T12:00:00Z");
  // Gap: the instant it ends; overlap: the earlier instant (as recurrences do).
  EXPECT_EQ(Z(*LocalToUtc("2026-03-08 02:30", kNewYork)), "2026-03-08T07:00:00Z");
  EXPECT_EQ(Z(*LocalToUtc("2026-11-01 01:30", kNewYork)), "2026-11-01T05:30:00Z");
  EXPECT_EQ(LocalToUtc("2026-02-29 12:00", "UTC").status().message(),
            "local time '2026-02-29 12:00' is not a calendar date");
  EXPECT_EQ(LocalToUtc("2026-03-01", "UTC").status().message(),
            "local time '2026-03-01' is not YYYY-MM-DD HH:MM[:SS]");
  EXPECT_EQ(LocalToUtc("2026-03-01 24:00", "UTC").status().field(), "local_time");
  EXPECT_EQ(LocalToUtc("2026-03-01 06:00", "Nowhere/City").status().message(),
            "unknown time zone 'Nowhere/City'");
}

TEST(LocalTime, UtcToLocal) {
  const TimeMs t = T("2026-03-01T16:05:30.250Z");
  EXPECT_EQ(*UtcToLocal(t, kShanghai, "%Y-%m-%d %H:%M"), "2026-03-02 00:05");
  EXPECT_EQ(*UtcToLocal(t, kShanghai, "%Y-%m-%d %H:%M:%S %z"), "2026-03-02 00:05:30 +0800");
  EXPECT_EQ(*UtcToLocal(T("2026-11-01T05:30:00Z"), kNewYork, "%H:%M %Z"), "01:30 EDT");
  EXPECT_EQ(*UtcToLocal(T("2026-11-01T06:30:00Z"), kNewYork, "%H:%M %Z"), "01:30 EST");
  EXPECT_EQ(*UtcToLocal(T("2026-03-01T00:00:00Z"), kShanghai, "%a"), "Sun");
  EXPECT_FALSE(UtcToLocal(t, "Nowhere/City", "%H").ok());
}

TEST(QuietHours, HoldPostsInsideThemUntilTheirEndAcrossMidnight) {
  const TimeMs night = T("2026-03-01T23:30:00+08:00");
  EXPECT_EQ(QuietHoursEnd("22:00", "07:00", kShanghai, night), T("2026-03-02T07:00:00+08:00"));
  EXPECT_EQ(QuietHoursEnd("22:00", "07:00", kShanghai, T("2026-03-02T06:59:00+08:00")),
            T("2026-03-02T07:00:00+08:00"));
  const TimeMs day = T("2026-03-02T07:00:00+08:00");
  EXPECT_EQ(QuietHoursEnd("22:00", "07:00", kShanghai, day), day) << "the end itself is outside";
  EXPECT_EQ(QuietHoursEnd("12:00", "14:00", kShanghai, T("2026-03-02T13:00:00+08:00")),
            T("2026-03-02T14:00:00+08:00"));
  EXPECT_EQ(QuietHoursEnd("", "", kShanghai, night), night) << "none";
  EXPECT_EQ(QuietHoursEnd("25:00", "07:00", kShanghai, night), night) << "unparsable: no hold";
}

}  // namespace
}  // namespace qz
