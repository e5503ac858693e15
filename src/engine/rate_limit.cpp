#include "engine/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace qz {

TokenBucket::TokenBucket(double limit, TimeMs window_ms) {
  if (limit > 0 && window_ms > 0) {
    capacity_ = std::max(1.0, limit);
    per_ms_ = limit / static_cast<double>(window_ms);
    tokens_ = capacity_;
  }
}

void TokenBucket::Refill(TimeMs now) {
  if (!started_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (now <= last_) return;  // the clock stood still or went back: nothing accrues
  tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now - last_) * per_ms_);
  last_ = now;
}

TimeMs TokenBucket::Wait(TimeMs now) {
  if (!limited()) return 0;
  Refill(now);
  // The epsilon absorbs rounding: after waiting the answer, a token is there.
  const double missing = 1.0 - tokens_;
  if (missing <= 1e-9) return 0;
  return std::max<TimeMs>(1, static_cast<TimeMs>(std::ceil(missing / per_ms_ - 1e-9)));
}

void TokenBucket::Take(TimeMs now) {
  if (!limited()) return;
  Refill(now);
  tokens_ -= 1.0;
}

SlidingWindow::SlidingWindow(double limit, TimeMs window_ms) {
  if (limit >= 1 && window_ms > 0) {
    limit_ = static_cast<size_t>(limit);
    window_ms_ = window_ms;
  }
}

void SlidingWindow::Prune(TimeMs now) {
  while (!times_.empty() && times_.front() <= now - window_ms_) times_.pop_front();
}

TimeMs SlidingWindow::Wait(TimeMs now) {
  if (!limited()) return 0;
  Prune(now);
  if (times_.size() < limit_) return 0;
  // The oldest of the last `limit_` sends leaves the window at front + window.
  return std::max<TimeMs>(1, times_[times_.size() - limit_] + window_ms_ - now);
}

void SlidingWindow::Take(TimeMs now) {
  if (!limited()) return;
  Prune(now);
  times_.push_back(now);
  while (times_.size() > limit_) times_.pop_front();
}

bool SlidingWindow::Full(TimeMs now) {
  if (!limited()) return true;
  Prune(now);
  return times_.empty();
}

bool TokenBucket::Full(TimeMs now) {
  if (!limited()) return true;
  Refill(now);
  return tokens_ >= capacity_ - 1e-9;
}

}  // namespace qz
