// qunzhu core: RFC 3339 timestamps, the only time format on the wire.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"

namespace qz {

// An instant with the UTC offset it was written in (kept so a message's local time of day
// can be shown as the member saw it).
struct Timestamp {
  TimeMs ms = 0;          // since the Unix epoch, UTC
  int offset_minutes = 0; // e.g. +480 for +08:00
};

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)". A time without an offset is an error:
// a local time is ambiguous across the time zones qunzhu serves. Fractions beyond
// milliseconds are truncated. Accepts 't'/'z'/' ' as RFC 3339 allows.
Result<Timestamp> ParseRfc3339(std::string_view text);

// The calendar year of `ts` as written (its date in its own offset), e.g. 2026 for
// "2026-01-01T00:30:00+08:00" although that instant is in 2025 in UTC.
int64_t WrittenYear(const Timestamp& ts);

// Formats with millisecond precision when non-zero, e.g. "2026-03-01T08:00:00+08:00". The
// output is always RFC 3339 (four-digit year, offset within ±23:59): an offset beyond that is
// written as Z, and an instant outside 0000-01-01T00:00:00 .. 9999-12-31T23:59:59.999 (in the
// offset written) is clamped to that range. Neither happens for parsed event times (2000..2100,
// src/model/event.hpp) or the clock; it keeps a damaged stored value from breaking an answer.
std::string FormatRfc3339(TimeMs ms, int offset_minutes = 0);

// A duration as operators write it in configuration: one or more <number><unit> parts with
// units s, m, h, d, w ("90s", "10m", "1h30m", "30d"), between 1 second and 10 years. Errors say
// what is wrong (the caller names the field).
Result<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace qz
