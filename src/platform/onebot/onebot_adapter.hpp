// qunzhu platform/onebot: the OneBot v11 adapter (QQ through NapCat, LLOneBot, Lagrange.OneBot).
// Owns the accounts' transports: event reports posted to /webhooks/qq (signed with each
// account's secret) and actions through each account's HTTP API (with its access token), and
// which account serves which group. Translation is onebot_protocol.hpp's; the adapter holds no
// business logic. Configured by [platforms.qq] (MakeOneBotFactory; docs/platforms.md).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "platform/adapter.hpp"
#include "platform/http/http_client.hpp"

namespace qz {

namespace onebot {
class ReportParser;
}  // namespace onebot

struct OneBotAccountOptions {
  std::string self_id;  // the account's QQ number: reports carry it in X-Self-ID
  std::string api_url;  // the implementation's HTTP API, e.g. http://127.0.0.1:3000
  Secret access_token;  // sent as Authorization: Bearer to the HTTP API; empty: none
  // The key of the reports' X-Signature (HMAC-SHA1). Reports of an account without one are
  // refused: an unsigned report could come from anyone who reaches the port.
  Secret secret;
};

struct OneBotOptions {
  std::vector<OneBotAccountOptions> accounts;
  RateLimits rate_limits;
};

// Thread-safe as PlatformAdapter says: HandleWebhook from the server's I/O threads, Perform
// from delivery's threads, concurrently. It has no threads of its own.
class OneBotAdapter : public PlatformAdapter {
 public:
  OneBotAdapter(const Clock& clock, OneBotOptions options);
  ~OneBotAdapter() override;

  std::string_view platform() const override;
  Capabilities capabilities() const override;
  RateLimits rate_limits() const override { return options_.rate_limits; }
  Status Start(EventSink& sink) override;
  void Stop() override;
  PerformResult Perform(const OutboxRecord& record) override;
  std::vector<std::string> webhook_names() const override { return {""}; }
  void HandleWebhook(WebhookRequest request, WebhookReply reply) override;
  std::vector<ConnectionHealth> health() const override;

 private:
  struct Account;
  Account* Find(std::string_view self_id);
  void NoteError(Account& account, std::string error);
  void NoteAlive(Account& account, size_t events);

  const Clock& clock_;
  OneBotOptions options_;
  HttpClient client_;
  std::vector<std::unique_ptr<Account>> accounts_;
  std::mutex parser_mutex_;  // the parser reuses its buffers
  std::unique_ptr<onebot::ReportParser> parser_;
  mutable std::mutex mutex_;  // guards what follows and the accounts' health
  EventSink* sink_ = nullptr;  // between Start and Stop
  std::map<std::string, size_t> group_account_;  // group → the account that last saw it
  std::set<std::pair<size_t, std::string>> gone_;  // (account, group) the account was removed from
};

std::unique_ptr<AdapterFactory> MakeOneBotFactory();

}  // namespace qz
