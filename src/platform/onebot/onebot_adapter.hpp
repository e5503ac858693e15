// qunzhu platform/onebot: the OneBot v11 adapter (QQ through NapCat, LLOneBot, Lagrange.OneBot).
// Owns the accounts' transports and which account serves which group. Two ways in: event
// reports posted to /webhooks/qq (signed with each account's secret), or the implementation's
// reverse WebSocket to /webhooks/qq (authenticated by the account's access token), which then
// carries the actions too (each frame with an `echo`, answered by a frame with the same echo).
// Actions go over the account's WebSocket while it is connected, else through its HTTP API.
// A sync_members action's answer (the member list) comes back in as member_synced events,
// submitted before the action counts as done. Translation is onebot_protocol.hpp's; the adapter
// holds no business logic. Configured by [platforms.qq] (MakeOneBotFactory; docs/platforms.md).
#pragma once

#include <chrono>
#include <condition_variable>
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
struct OneBotCall;
struct Response;
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
// threads of its own. Perform of sync_members submits to the sink from delivery's thread
// (SubmitAndWait, in batches of kSyncBatchEvents): before Start it is kRetry, and Stop waits
// for a batch under way, so that no call reaches the sink after Stop returns.
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

  // The member_synced events of a sync go to the sink in batches of this many.
  static constexpr size_t kSyncBatchEvents = 500;
  // The least a sync waits for its member list: implementations gather a large group's members
  // one by one (NapCat), and an answer that always came too late would be asked for forever.
  static constexpr std::chrono::milliseconds kMemberListTimeout{120000};

  // How long an action waits for its answer, over the WebSocket or HTTP (default 30 s; a sync
  // at least kMemberListTimeout). Set it before Perform runs: it is not synchronised.
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
  std::optional<onebot::Response> CallOverSocket(Account& account, const onebot::OneBotCall& call,
                                                 std::chrono::milliseconds timeout);
  // The call over the socket, else through the HTTP API, waiting `timeout` for the answer;
  // counted in the account's health.
  onebot::Response Call(Account& account, onebot::OneBotCall call, std::chrono::milliseconds timeout);
  // A sync's member list (get_group_member_list's data) into member_synced events, each batch
  // durable before the next; kDone once all are in.
  PerformResult TakeInMembers(Account& account, const std::string& group, const std::string& data);
  // The sink for one submission from outside the inbound side (a sync), or null when stopped;
  // a non-null one is released after the submission, and Stop waits for that.
  EventSink* AcquireSink();
  void ReleaseSink();
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
  int sink_users_ = 0;  // syncs submitting to sink_ right now (AcquireSink)
  std::condition_variable sink_idle_;  // sink_users_ fell to 0
  std::map<std::string, size_t> group_account_;  // group → the account that last saw it
  std::set<std::pair<size_t, std::string>> gone_;  // (account, group) the account was removed from
  std::map<std::string, std::shared_ptr<PendingCall>> pending_;  // by echo
  uint64_t next_echo_ = 1;
  std::vector<std::shared_ptr<SocketLink>> links_;  // cut in the destructor
  std::chrono::milliseconds socket_call_timeout_{30000};
};

std::unique_ptr<AdapterFactory> MakeOneBotFactory();

}  // namespace qz
