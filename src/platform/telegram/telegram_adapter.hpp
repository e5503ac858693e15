// qunzhu platform/telegram: the Telegram adapter. Owns the Bot API connections of one or more
// bots: long polling (getUpdates, the offset kept durable in the data directory), carrying out
// outbox actions as Bot API calls, and which bot serves which chat. Translation is
// telegram_protocol.hpp's; the adapter holds no business logic. Configured by
// [platforms.telegram] (MakeTelegramFactory; docs/platforms.md).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "platform/adapter.hpp"
#include "platform/http/http_client.hpp"

namespace qz {
namespace telegram {
struct ParsedUpdate;
}  // namespace telegram

struct TelegramBotOptions {
  std::string name;  // for logs and the offset file; default "bot<id>" (the id is the token's prefix)
  Secret token;
};

struct TelegramOptions {
  // The Bot API root: Telegram's, a local Bot API server, a proxy, or a test emulator.
  std::string api_root = "https://api.telegram.org";
  std::vector<TelegramBotOptions> bots;
  // Polling needs no public address (the default). A webhook has Telegram POST each update to
  // <public_url>/webhooks/telegram/<bot name>, with `webhook_secret` (random at each start
  // when not configured) in X-Telegram-Bot-Api-Secret-Token.
  enum class Mode { kPolling, kWebhook };
  Mode mode = Mode::kPolling;
  std::string public_url;
  Secret webhook_secret;
  // getUpdates' long-poll timeout; the HTTP call waits this plus a margin.
  int poll_timeout_s = 25;
  // After an empty answer that came back sooner than this, wait this long before polling again
  // (a server that does not hold long polls would otherwise be polled in a busy loop).
  TimeMs idle_wait_ms = 1000;
  // The longest back-off after failed polls (doubling from 1 s).
  TimeMs max_backoff_ms = 30000;
  RateLimits rate_limits;
  std::string data_dir;  // where the offsets are kept
};

// Thread-safe as PlatformAdapter says: one polling thread per bot between Start and Stop;
// Perform from delivery's threads, concurrently.
class TelegramAdapter : public PlatformAdapter {
 public:
  TelegramAdapter(const Clock& clock, TelegramOptions options);
  ~TelegramAdapter() override;

  std::string_view platform() const override;
  Capabilities capabilities() const override;
  RateLimits rate_limits() const override { return options_.rate_limits; }
  Status Start(EventSink& sink) override;
  void Stop() override;
  PerformResult Perform(const OutboxRecord& record) override;
  std::vector<std::string> webhook_names() const override;
  std::vector<ConnectionHealth> health() const override;
  void HandleWebhook(WebhookRequest request, WebhookReply reply) override;

  // The offset file of bot `index` (its next getUpdates offset, as decimal text).
  std::string OffsetPath(size_t index) const;

 private:
  struct Bot;
  void Poll(Bot& bot, EventSink& sink);
  void SetWebhook(Bot& bot);
  // Takes an update's events into `events` and acts on its other facts (migration, the bot's
  // own membership), adding their events.
  void Absorb(const Bot& bot, telegram::ParsedUpdate& update, std::vector<Event>& events);
  // Submits events learned from an action's answer (a 403 in a group, a migration) without
  // waiting for them; see the definition.
  void Report(Bot& bot, std::vector<Event> events);
  // sync_members once getChatAdministrators answered `body`: brings the administrators in as
  // member_synced events, durable before it returns kDone.
  PerformResult Sync(const std::string& chat, std::string_view body);
  // POST <api_root>/bot<token>/<method> with a JSON body.
  Result<HttpClientResponse> Call(const Bot& bot, std::string_view method, std::string body,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool SleepFor(TimeMs ms);  // false when stopping
  void NoteError(Bot& bot, std::string error);
  void NoteEvents(Bot& bot, size_t count);
  Bot& BotFor(const std::string& chat);
  // The bot a join request's handle names (the one that received it), else BotFor(chat).
  Bot& BotForRequest(std::string_view request, const std::string& chat);
  void Remember(const std::string& chat, size_t bot);

  const Clock& clock_;
  TelegramOptions options_;
  HttpClient client_;
  std::vector<std::unique_ptr<Bot>> bots_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;  // guards what follows and the bots' health
  std::condition_variable wake_;
  bool stopping_ = false;
  int running_ = 0;  // threads started and not finished
  EventSink* sink_ = nullptr;  // between Start and Stop (webhooks, and events from actions)
  std::map<std::string, size_t> chat_bot_;     // chat id → the bot that last saw it
  std::map<std::string, std::string> moved_;   // old chat id → the supergroup it became
  std::set<std::string> gone_;                 // chats the bot was removed from
};

std::unique_ptr<AdapterFactory> MakeTelegramFactory();

}  // namespace qz
