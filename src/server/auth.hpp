// qunzhu server: the console's sign-in, in memory and transport-free. What a session cookie looks
// like, how long a session lasts, and the limit on failed sign-ins per account and per client
// address. Api (api.cpp) authenticates with these; the session routes (routes/sessions.cpp) sign
// in and out.
#pragma once

#include <cstddef>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "server/route.hpp"

namespace qz {

inline constexpr std::string_view kSessionCookie = "qz_session";
inline constexpr std::string_view kCsrfHeader = "x-csrf-token";  // lower case, as ApiRequest has it

struct AuthOptions {
  // Adds `Secure` to the session cookie: set it when the API is reached over https (a TLS proxy
  // in front of qunzhu), so the browser never sends the cookie in clear. Off by default because
  // qunzhu itself serves plain http, where a Secure cookie would never come back.
  bool secure_cookies = false;
  // A session ends this long after its sign-in, used or not (no sliding renewal: a stolen cookie
  // is worth at most this long, and a request costs no write).
  TimeMs session_ttl_ms = 12 * 60 * 60 * 1000;
  // Failed sign-ins allowed per account name and per client address within the window; the next
  // attempt is answered 429 with Retry-After until the oldest failure leaves the window.
  int max_failed_sign_ins = 5;
  TimeMs failed_sign_in_window_ms = 60 * 1000;
};

// Failed attempts per key in a sliding window, in memory (lost at restart). Thread-safe.
class SignInLimiter {
 public:
  SignInLimiter(int max_failures, TimeMs window_ms);

  // 0 when an attempt under every key may be made at `now`; otherwise how long (ms, > 0) until
  // it may.
  TimeMs RetryAfter(std::initializer_list<std::string_view> keys, TimeMs now);
  // Counts a failed attempt against every key.
  void RecordFailure(std::initializer_list<std::string_view> keys, TimeMs now);
  // Forgets the failures of `key` (an account that signed in).
  void Clear(std::string_view key);

 private:
  void Prune(TimeMs now);  // requires mu_

  const size_t max_failures_;
  const TimeMs window_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<TimeMs>> failures_;  // key → times, oldest first
};

// The Set-Cookie value that stores the session `secret` for `max_age_ms`: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), Path=/, and Secure when `secure`.
std::string SessionCookie(std::string_view secret, TimeMs max_age_ms, bool secure);
// The Set-Cookie value that removes the session cookie.
std::string ClearedSessionCookie(bool secure);

namespace api_internal {
// The value of the cookie `name` in the request's Cookie headers, "" when absent.
std::string_view CookieValue(const ApiRequest& request, std::string_view name);
}  // namespace api_internal

}  // namespace qz
