#include "core/time.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace qz {
namespace {

TEST(Rfc3339, ParsesOffsetAndConvertsToUtc) {
  auto t = ParseRfc3339("2026-03-01T08:00:00+08:00");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->ms, 1772323200000);  // 2026-03-01T00:00:00Z
  EXPECT_EQ(t->offset_minutes, 480);
}

TEST(Rfc3339, ParsesZuluAndFraction) {
  auto t = ParseRfc3339("1970-01-01T00:00:01.5Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ms, 1500);
  auto neg = ParseRfc3339("1970-01-01T00:00:00.123456-01:30");
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->ms, 5400000 + 123);
  EXPECT_EQ(neg->offset_minutes, -90);
}

TEST(Rfc3339, RejectsWithReason) {
  for (const char* bad : {"", "2026-03-01", "2026-03-01T08:00:00", "2026-02-30T00:00:00Z",
                          "2026-03-01T24:00:00Z", "2026-03-01T08:00:00+0800",
                          "2026-03-01T08:00:00Zjunk", "2026-3-1T08:00:00Z", "2026-03-01T08:00:00."}) {
    auto t = ParseRfc3339(bad);
    EXPECT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(Rfc3339, LeapYearFebruary29) {
  EXPECT_TRUE(ParseRfc3339("2028-02-29T12:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2026-02-29T12:00:00Z").ok());
}

TEST(Rfc3339, FormatRoundTrips) {
  for (const char* s : {"2026-03-01T08:00:00+08:00", "1969-12-31T23:59:59.999Z",
                        "2026-11-24T04:05:06.007-05:00", "0001-01-01T00:00:00Z",
                        "9999-12-31T23:59:59.999+14:00", "2000-02-29T00:00:00.100-09:30"}) {
    auto t = ParseRfc3339(s);
    ASSERT_TRUE(t.ok()) << s;
    EXPECT_EQ(FormatRfc3339(t->ms, t->offset_minutes), s);
  }
}

// The output is always RFC 3339, whatever value reaches it (a damaged stored time, say): years
// beyond 0000..9999 are clamped to that range, offsets beyond ±23:59 are written as Z.
TEST(Rfc3339, FormatIsAlwaysRfc3339) {
  const TimeMs y10000 = 253402300800000;  // 10000-01-01T00:00:00Z
  EXPECT_EQ(FormatRfc3339(y10000, 0), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(y10000 - 1, 0), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(y10000 - 3600000, 120), "9999-12-31T23:59:59.999+02:00");
  EXPECT_EQ(FormatRfc3339(INT64_MAX, 0), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(INT64_MIN, 0), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-62167219200000 - 1, 0), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(0, 100 * 60), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(0, -32768), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(0, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-1, 0), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339, WrittenYearIsTheDateAsWritten) {
  auto t = ParseRfc3339("2026-01-01T00:30:00+08:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(WrittenYear(*t), 2026);
  EXPECT_EQ(WrittenYear({t->ms, 0}), 2025);
  auto early = ParseRfc3339("0000-01-01T00:00:00Z");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(WrittenYear(*early), 0);
}

}  // namespace
}  // namespace qz

namespace qz {
namespace {
TEST(ParseDurationSeconds, AcceptsUnitsAndCombinations) {
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("10m"), 600);
  EXPECT_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("30d"), 30 * 86400);
  EXPECT_EQ(*ParseDurationSeconds("2w"), 14 * 86400);
  for (const char* bad : {"", "10", "h", "5x", "0s", "-1h", "1.5h", "99999999999d"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).ok()) << bad;
  }
}
}  // namespace
}  // namespace qz
