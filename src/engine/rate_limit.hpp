// qunzhu engine: the rate limiters delivery applies to the limits each platform adapter
// declares (RateLimits, platform/adapter.hpp): a token bucket for per-second limits, a sliding
// window for per-minute ones. Both run on the injected Clock's milliseconds.
#pragma once

#include <deque>

#include "core/clock.hpp"

namespace qz {

// A token bucket on the Clock's milliseconds: `limit` tokens per `window_ms`, holding at most
// max(1, limit) tokens, full at first use. A limit <= 0 makes an unlimited bucket. Not
// thread-safe (Delivery guards its buckets).
class TokenBucket {
 public:
  TokenBucket() = default;  // unlimited
  TokenBucket(double limit, TimeMs window_ms);
  bool limited() const { return per_ms_ > 0; }
  // 0 when a token is available at `now`, else the milliseconds until one is.
  TimeMs Wait(TimeMs now);
  // Takes one token at `now` (callers check Wait(now) == 0 first; else the bucket goes into
  // debt, which later Waits honour).
  void Take(TimeMs now);
  // Whether the bucket is full at `now` (forgetting it loses nothing).
  bool Full(TimeMs now);

 private:
  void Refill(TimeMs now);
  double capacity_ = 0;
  double per_ms_ = 0;  // 0: unlimited
  double tokens_ = 0;
  TimeMs last_ = 0;
  bool started_ = false;
};

// At most `limit` events in any window of `window_ms` (a sliding log of the last `limit` times).
// Unlike a token bucket it never lets a burst and a refill add up inside one window, which is
// what "20 messages a minute per group" means to a platform. Same interface as TokenBucket.
class SlidingWindow {
 public:
  SlidingWindow() = default;  // unlimited
  SlidingWindow(double limit, TimeMs window_ms);
  bool limited() const { return limit_ > 0; }
  TimeMs Wait(TimeMs now);
  void Take(TimeMs now);
  bool Full(TimeMs now);  // true when nothing is inside the window (forgetting it loses nothing)

 private:
  void Prune(TimeMs now);
  size_t limit_ = 0;
  TimeMs window_ms_ = 0;
  std::deque<TimeMs> times_;
};

}  // namespace qz
