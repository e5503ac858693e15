#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace qz {
namespace {

TEST(MetricsRegistryTest, RendersCollectorsInOrderAndRemovesThem) {
  MetricsRegistry registry;
  std::atomic<int64_t> events{3};
  Histogram latency;
  latency.Observe(0.003);
  ASSERT_TRUE(registry.AddCounter("x_events_total", "Events.", [&] {
    return static_cast<double>(events.load());
  }).ok());
  ASSERT_TRUE(registry.Add("custom", [](std::string& out) { out += "x_custom{k=\"v\"} 1\n"; }).ok());
  ASSERT_TRUE(registry.AddGauge("x_depth", "Depth.", [] { return 7.0; }).ok());
  ASSERT_TRUE(registry.AddHistogram("x_seconds", "Latency.", latency).ok());

  events = 5;
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# TYPE x_events_total counter\nx_events_total 5\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE x_depth gauge\nx_depth 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos) << text;
  EXPECT_LT(text.find("x_events_total"), text.find("x_custom"));
  EXPECT_LT(text.find("x_custom"), text.find("x_depth"));

  Status again = registry.Add("custom", [](std::string&) {});
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_EQ(registry.Add("", [](std::string&) {}).field(), "name");

  registry.Remove("custom");
  EXPECT_EQ(registry.Render().find("x_custom"), std::string::npos);
  EXPECT_TRUE(registry.Add("custom", [](std::string&) {}).ok()) << "a removed name is free";
}

}  // namespace
}  // namespace qz
