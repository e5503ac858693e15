#include "core/time.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qz {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

Status Bad(std::string_view text, std::string_view why) {
  return Status::Invalid(fmt::format("'{}' is not an RFC 3339 time with offset ({})",
                                     text.substr(0, 64), why));
}

}  // namespace

Result<Timestamp> ParseRfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day)) {
    return Bad(s, "expected YYYY-MM-DD");
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return Bad(s, "expected 'T' after the date");
  if (!Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second)) {
    return Bad(s, "expected HH:MM:SS");
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 60) {
    return Bad(s, "date or time out of range");
  }
  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return Bad(s, "empty fraction");
    for (size_t i = digits; i < 3; ++i) millis *= 10;
  }
  if (pos >= s.size()) return Bad(s, "missing offset such as +08:00 or Z");
  int offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return Bad(s, "offset must be ±HH:MM");
    }
    offset = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return Bad(s, "missing offset such as +08:00 or Z");
  }
  if (pos != s.size()) return Bad(s, "trailing characters");
  if (second == 60) second = 59;  // a leap second is folded into the second before it
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t local_s = days * 86400 + hour * 3600 + minute * 60 + second;
  return Timestamp{(local_s - offset * 60) * 1000 + millis, offset};
}

int64_t WrittenYear(const Timestamp& ts) {
  const int64_t local_ms = ts.ms + static_cast<int64_t>(ts.offset_minutes) * 60000;
  int64_t days = local_ms / 86400000;
  if (local_ms % 86400000 < 0) --days;
  return CivilFromDays(days).y;
}

std::string FormatRfc3339(TimeMs ms, int offset_minutes) {
  // The range RFC 3339 can write (years 0000..9999), in local milliseconds.
  static const int64_t kMinLocalMs = DaysFromCivil(0, 1, 1) * 86400000;
  static const int64_t kMaxLocalMs = DaysFromCivil(10000, 1, 1) * 86400000 - 1;
  constexpr int64_t kDayMs = 86400000;
  if (offset_minutes <= -24 * 60 || offset_minutes >= 24 * 60) offset_minutes = 0;
  // Clamp the instant first (a day of margin covers any offset), so the sum cannot overflow.
  ms = std::clamp<int64_t>(ms, kMinLocalMs - kDayMs, kMaxLocalMs + kDayMs);
  const int64_t local_ms =
      std::clamp<int64_t>(ms + static_cast<int64_t>(offset_minutes) * 60000, kMinLocalMs,
                          kMaxLocalMs);
  int64_t secs = local_ms / 1000;
  int64_t frac = local_ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  const Civil c = CivilFromDays(days);
  const int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  // The common case by hand: this runs for every event written (EventToJson).
  char buf[32];
  char* p = buf;
  auto digits = [&p](int64_t v, int n) {
    for (int i = n - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += n;
  };
  digits(c.y, 4);
  *p++ = '-';
  digits(c.m, 2);
  *p++ = '-';
  digits(c.d, 2);
  *p++ = 'T';
  digits(rem / 3600, 2);
  *p++ = ':';
  digits((rem / 60) % 60, 2);
  *p++ = ':';
  digits(rem % 60, 2);
  if (frac != 0) {
    *p++ = '.';
    digits(frac, 3);
  }
  if (offset_minutes == 0) {
    *p++ = 'Z';
  } else {
    *p++ = offset_minutes < 0 ? '-' : '+';
    digits(a / 60, 2);
    *p++ = ':';
    digits(a % 60, 2);
  }
  return std::string(buf, static_cast<size_t>(p - buf));
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  constexpr int64_t kMax = int64_t{10} * 366 * 86400;
  auto bad = [&](std::string_view why) {
    return Status::Invalid(fmt::format("'{}' is not a duration ({}); write e.g. \"90s\", \"10m\", \"1h30m\", \"30d\"",
                                       text.substr(0, 40), why));
  };
  if (text.empty()) return bad("empty");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (digits >= 9) return bad("too large");
      n = n * 10 + (text[i] - '0');
    }
    if (digits == 0) return bad("expected a number");
    if (i == text.size()) return bad("a number needs a unit: s, m, h, d or w");
    int64_t unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return bad(fmt::format("unknown unit '{}'", text[i]));
    }
    ++i;
    total += n * unit;
    if (total > kMax) return bad("longer than 10 years");
  }
  if (total < 1) return bad("shorter than 1 second");
  return total;
}

}  // namespace qz
