#include "server/auth.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qz {
namespace {

// Keys kept before old ones are dropped: the memory an attacker rotating names or addresses can
// make the limiter hold is bounded.
constexpr size_t kMaxKeys = 10000;

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

SignInLimiter::SignInLimiter(int max_failures, TimeMs window_ms)
    : max_failures_(static_cast<size_t>(std::max(1, max_failures))),
      window_ms_(std::max<TimeMs>(1, window_ms)) {}

TimeMs SignInLimiter::RetryAfter(std::initializer_list<std::string_view> keys, TimeMs now) {
  std::lock_guard lock(mu_);
  TimeMs wait = 0;
  for (std::string_view key : keys) {
    auto it = failures_.find(std::string(key));
    if (it == failures_.end()) continue;
    std::deque<TimeMs>& times = it->second;
    while (!times.empty() && times.front() + window_ms_ <= now) times.pop_front();
    if (times.size() >= max_failures_) {
      // Allowed again once enough of the oldest failures left the window.
      const TimeMs until = times[times.size() - max_failures_] + window_ms_;
      wait = std::max(wait, until - now);
    }
  }
  return wait;
}

void SignInLimiter::RecordFailure(std::initializer_list<std::string_view> keys, TimeMs now) {
  std::lock_guard lock(mu_);
  if (failures_.size() + keys.size() > kMaxKeys) Prune(now);
  for (std::string_view key : keys) {
    std::deque<TimeMs>& times = failures_[std::string(key)];
    times.push_back(now);
    while (times.size() > max_failures_) times.pop_front();  // older ones cannot matter
  }
}

void SignInLimiter::Clear(std::string_view key) {
  std::lock_guard lock(mu_);
  failures_.erase(std::string(key));
}

void SignInLimiter::Prune(TimeMs now) {
  std::erase_if(failures_, [&](const auto& entry) {
    return entry.second.empty() || entry.second.back() + window_ms_ <= now;
  });
  // Still full of live keys: a flood from many names and addresses. Forgetting it all is the
  // lesser harm than unbounded memory; each key is limited again from its next failure.
  if (failures_.size() >= kMaxKeys) failures_.clear();
}

std::string SessionCookie(std::string_view secret, TimeMs max_age_ms, bool secure) {
  return fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}", kSessionCookie,
                     secret, max_age_ms / 1000, secure ? "; Secure" : "");
}

std::string ClearedSessionCookie(bool secure) {
  return fmt::format("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}", kSessionCookie,
                     secure ? "; Secure" : "");
}

namespace api_internal {

std::string_view CookieValue(const ApiRequest& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      const std::string_view pair = TrimSpace(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || TrimSpace(pair.substr(0, eq)) != name) continue;
      std::string_view v = TrimSpace(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      if (!v.empty()) return v;
    }
  }
  return {};
}

}  // namespace api_internal

}  // namespace qz
