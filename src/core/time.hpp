// qunzhu core: RFC 3339 timestamps, the only time format on the wire.
#pragma once

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

// Formats with millisecond precision when non-zero, e.g. "2026-03-01T08:00:00+08:00".
std::string FormatRfc3339(TimeMs ms, int offset_minutes = 0);

}  // namespace qz
