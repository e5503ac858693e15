// qunzhu platform/onebot: the OneBot v11 adapter (QQ through NapCat, LLOneBot, Lagrange.OneBot).
// Owns the accounts' transports and which account serves which group. Two ways in: event
// reports posted to /webhooks/qq (signed with each account's secret), or the implementation's
// reverse WebSocket to /webhooks/qq (authenticated by the account's access token), which then
// carries the actions too (each frame with an `echo`, answered by a frame with the same echo).
// Actions go over the account's WebSocket while it is connected, else through its HTTP API.
// Translation is onebot_protocol.hpp's; the adapter holds no business logic. Configured by
// [platforms.qq] (MakeOneBotFactory; docs/platforms.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  // Sent as Authorization: Bearer to the HTTP API; the reverse WebSocket must present it (an
  // account without one accepts no WebSocket). Empty: none.
  Secret access_token;
  // The key of the reports' X-Signature (HMAC-SHA1). Reports of an account without one are
  // refused: an unsigned report could come from anyone who reaches the port.
  Secret secret;
};

struct OneBotOptions {
  std::vector<OneBotAccountOptions> accounts;
  RateLimits rate_limits;
};

// Thread-safe as PlatformAdapter says: HandleWebhook, AcceptSocket and the sockets' messages
// from the server's I/O threads, Perform from delivery's threads, concurrently. It has no
// threads of its own.
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
  std::vector<std::string> socket_names() const override { return {""}; }
  Result<MessageSocketAccept> AcceptSocket(const WebhookRequest& handshake) override;
  std::vector<ConnectionHealth> health() const override;

  // How long an action over the WebSocket waits for its answer (default 30 s). Set it before
  // Perform runs: it is not synchronised.
  void set_socket_call_timeout(std::chrono::milliseconds timeout) { socket_call_timeout_ = timeout; }

 private:
  struct Account;
  struct PendingCall;
  struct SocketLink;
  Account* Find(std::string_view self_id);
  // A verified report of `account`, whichever way it came: parsed, and its event submitted;
  // `reply` hears the outcome (200, or why not).
  void HandleReport(Account& account, const std::string& body, WebhookReply reply);
  MessageSocketHandler Attach(Account& account, std::shared_ptr<MessageSocket> socket,
                              std::shared_ptr<SocketLink> link);
  void OnSocketMessage(Account& account, uint64_t generation, std::string text);
  void OnSocketClosed(Account& account, uint64_t generation);
  // The call over the account's socket; nullopt when it has none (nothing was sent).
  std::optional<PerformResult> PerformOverSocket(Account& account,
                                                 const std::string& action, const std::string& params);
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
  std::map<std::string, std::shared_ptr<PendingCall>> pending_;  // by echo
  uint64_t next_echo_ = 1;
  std::vector<std::shared_ptr<SocketLink>> links_;  // cut in the destructor
  std::chrono::milliseconds socket_call_timeout_{30000};
};

std::unique_ptr<AdapterFactory> MakeOneBotFactory();

}  // namespace qz
