// qunzhu platform: the seam to chat platforms. An adapter declares what its platform can do
// and carries out platform actions from the outbox; inbound traffic (webhooks, polling) becomes
// canonical events elsewhere in the adapter. Adapters translate; they hold no business logic.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "model/action.hpp"

namespace qz {

struct PerformResult {
  enum class Kind {
    kDone,    // the platform did it
    kRetry,   // a transient failure (429, 5xx, timeout): try again later
    kFailed,  // refused for good (4xx other than 429, unknown chat, no permission)
  };
  Kind kind = Kind::kDone;
  TimeMs retry_after_ms = 0;  // the platform's own hint (Telegram's retry_after), 0 if none
  std::string error;          // the platform's reason, for the action_failed event and the logs
  std::string platform_ref;   // the platform's id of the result, e.g. the sent message id
};

// Thread-safety: Perform may be called from several delivery threads at once.
class PlatformAdapter {
 public:
  virtual ~PlatformAdapter() = default;
  virtual std::string_view platform() const = 0;  // the events' `platform` value it serves
  virtual Capabilities capabilities() const = 0;
  // Carries out one platform action, blocking. `record.idempotency_key` is stable across
  // retries; a platform that deduplicates by it declares Capabilities::dedupes_sends.
  virtual PerformResult Perform(const OutboxRecord& record) = 0;
};

}  // namespace qz
