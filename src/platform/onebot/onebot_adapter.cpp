#include "platform/onebot/onebot_adapter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <variant>

#include "core/crypto.hpp"
#include "core/toml_reader.hpp"
#include "platform/onebot/onebot_protocol.hpp"

namespace qz {

struct OneBotAdapter::Account {
  size_t index = 0;
  OneBotAccountOptions options;
  // Guarded by the adapter's mutex_:
  ConnectionHealth health;
  std::shared_ptr<MessageSocket> socket;  // the reverse WebSocket while connected
  uint64_t socket_generation = 0;  // which socket `socket` is: a newer one replaces an older
  TimeMs heard_at = 0;  // the last report or answer from the implementation
  int64_t heartbeat_ms = 0;  // the interval its heartbeats announce; 0: none seen
  bool unwell = false;  // its last heartbeat or lifecycle event said the account cannot act
};

namespace {
// Heartbeats missed in a row before an account that sends them counts as down.
constexpr int64_t kMissedHeartbeats = 3;
}  // namespace

// An action sent over a socket, waiting for the frame with its echo. Guarded by the adapter's
// mutex_.
struct OneBotAdapter::PendingCall {
  size_t account = 0;
  uint64_t generation = 0;  // the socket it went out on
  std::condition_variable done;
  std::optional<std::string> answer;
  bool closed = false;  // that socket closed first
};

// What a socket's handler holds of the adapter. The server's sockets may outlive the adapter
// (the node stops before the server does): the destructor cuts the link, and a cut link calls
// nothing.
struct OneBotAdapter::SocketLink {
  std::mutex mu;
  OneBotAdapter* adapter = nullptr;
};

namespace {

// The token of an Authorization header: "Bearer <t>" or "Token <t>" (OneBot v11 names both).
std::string_view PresentedToken(std::string_view authorization) {
  for (std::string_view scheme : {"Bearer ", "Token "}) {
    if (authorization.size() >= scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                               std::tolower(static_cast<unsigned char>(b)); })) {
      return authorization.substr(scheme.size());
    }
  }
  return {};
}

}  // namespace

OneBotAdapter::OneBotAdapter(const Clock& clock, OneBotOptions options)
    : clock_(clock), options_(std::move(options)), parser_(std::make_unique<onebot::ReportParser>()) {
  for (size_t i = 0; i < options_.accounts.size(); ++i) {
    auto a = std::make_unique<Account>();
    a->index = i;
    a->options = options_.accounts[i];
    while (!a->options.api_url.empty() && a->options.api_url.back() == '/') a->options.api_url.pop_back();
    a->health.name = a->options.self_id;
    a->health.state = "starting";
    accounts_.push_back(std::move(a));
  }
}

OneBotAdapter::~OneBotAdapter() {
  std::vector<std::shared_ptr<MessageSocket>> sockets;
  std::vector<std::shared_ptr<SocketLink>> links;
  {
    std::lock_guard lock(mutex_);
    links.swap(links_);
    for (const auto& a : accounts_) {
      if (a->socket) sockets.push_back(std::move(a->socket));
    }
  }
  // Not under mutex_: a socket's handler takes its link's lock, then mutex_.
  for (const auto& link : links) {
    std::lock_guard cut(link->mu);
    link->adapter = nullptr;
  }
  for (const auto& s : sockets) s->Close();
}

std::string_view OneBotAdapter::platform() const { return onebot::kPlatform; }
Capabilities OneBotAdapter::capabilities() const { return onebot::OneBotCapabilities(); }

Status OneBotAdapter::Start(EventSink& sink) {
  std::lock_guard lock(mutex_);
  sink_ = &sink;
  for (const auto& a : accounts_) {
    spdlog::info("qq: account {} reports to /webhooks/qq (POST, or its reverse WebSocket there), acts through {}",
                 a->options.self_id,
                 a->options.api_url.empty() ? "its WebSocket only (no api_url)" : "its WebSocket, else " + a->options.api_url);
  }
  return Status::Ok();
}

void OneBotAdapter::Stop() {
  std::vector<std::shared_ptr<MessageSocket>> sockets;
  {
    std::unique_lock lock(mutex_);
    sink_ = nullptr;
    // A member sync submitting a batch finishes it (ingest still runs); it submits no more.
    sink_idle_.wait(lock, [&] { return sink_users_ == 0; });
    for (const auto& a : accounts_) {
      a->health.state = "stopped";
      // Closed, so that the implementation sees it and keeps what it has until qunzhu is back,
      // rather than sending events nobody takes in.
      if (a->socket) sockets.push_back(a->socket);
    }
  }
  for (const auto& s : sockets) s->Close();
}

OneBotAdapter::Account* OneBotAdapter::Find(std::string_view self_id) {
  for (const auto& a : accounts_) {
    if (a->options.self_id == self_id) return a.get();
  }
  return nullptr;
}

void OneBotAdapter::NoteError(Account& account, std::string error) {
  std::lock_guard lock(mutex_);
  ++account.health.errors;
  account.health.last_error = std::move(error);
}

void OneBotAdapter::NoteAlive(Account& account, size_t events) {
  std::lock_guard lock(mutex_);
  if (sink_ != nullptr) account.health.state = "connected";
  account.heard_at = clock_.Now();
  if (events == 0) return;
  account.health.events += static_cast<int64_t>(events);
  account.health.last_event = clock_.Now();
}

std::vector<ConnectionHealth> OneBotAdapter::health() const {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionHealth> out;
  const TimeMs now = clock_.Now();
  for (const auto& a : accounts_) {
    ConnectionHealth h = a->health;
    if (h.state == "connected" && a->unwell) h.state = "retrying";
    // An implementation that announced heartbeats and has been silent for several of them is
    // gone (crashed, logged out, the network cut), whatever it last said.
    if (h.state == "connected" && a->heartbeat_ms > 0 && now - a->heard_at > kMissedHeartbeats * a->heartbeat_ms) {
      h.state = "retrying";
      h.last_error = fmt::format("no heartbeat for {} s (announced every {} s)", (now - a->heard_at) / 1000,
                                 a->heartbeat_ms / 1000);
    }
    out.push_back(std::move(h));
  }
  return out;
}

void OneBotAdapter::HandleWebhook(WebhookRequest request, WebhookReply reply) {
  auto refuse = [&](int status, std::string_view why) {
    reply({.status = status, .body = fmt::format(R"({{"error":{}}})", JsonString(why))});
  };
  const std::string self_id = request.Header("x-self-id");
  Account* account = Find(self_id);
  if (account == nullptr) {
    spdlog::warn("qq: a report for an account that is not configured was refused");
    return refuse(401, "unknown account (X-Self-ID)");
  }
  if (account->options.secret.empty()) {
    NoteError(*account, "a report was refused: no secret is configured for this account");
    return refuse(401, "no secret is configured for this account");
  }
  if (!onebot::VerifySignature(account->options.secret.reveal(), request.body, request.Header("x-signature"))) {
    spdlog::warn("qq: account {}: a report with a missing or wrong signature was refused", self_id);
    NoteError(*account, "a report with a missing or wrong signature was refused");
    return refuse(401, "missing or wrong X-Signature");
  }
  HandleReport(*account, request.body, std::move(reply));
}

void OneBotAdapter::HandleReport(Account& account, const std::string& body, WebhookReply reply) {
  auto refuse = [&](int status, std::string_view why) {
    reply({.status = status, .body = fmt::format(R"({{"error":{}}})", JsonString(why))});
  };
  const std::string& self_id = account.options.self_id;
  Account* const account_ptr = &account;
  Result<onebot::Report> report = [&] {
    std::lock_guard lock(parser_mutex_);
    return parser_->Parse(body);
  }();
  if (!report.ok()) {
    // Answered 200 all the same: the implementation would only post it again.
    spdlog::warn("qq: account {}: a report was skipped: {}", self_id, report.status().ToString());
    NoteError(account, report.status().ToString());
    return reply({});
  }
  if (report->self_id != self_id) return refuse(401, "the report's self_id is not X-Self-ID");
  Event* event = std::get_if<Event>(&report->content);
  if (event == nullptr) {
    if (const auto* meta = std::get_if<onebot::Meta>(&report->content)) {
      std::lock_guard lock(mutex_);
      if (meta->kind == onebot::Meta::Kind::kHeartbeat && meta->interval_ms > 0) {
        account.heartbeat_ms = meta->interval_ms;
      }
      // Reachable, but the QQ account itself is not (logged out, risk-controlled), or OneBot was
      // switched off in the implementation.
      const bool unwell = meta->kind == onebot::Meta::Kind::kHeartbeat ? (meta->online == false || meta->good == false)
                                                                       : meta->sub_type == "disable";
      if (unwell && !account.unwell) {
        spdlog::warn("qq: account {}: the implementation reports the account offline or OneBot disabled", self_id);
        ++account.health.errors;
        account.health.last_error = "the implementation reports the account offline or OneBot disabled";
      }
      account.unwell = unwell;
    } else if (const auto* r = std::get_if<onebot::JoinRequest>(&report->content)) {
      spdlog::info("qq: account {}: {} invites it to group {} (accept it in QQ; qunzhu does not answer invitations)",
                   self_id, r->user, r->group);
    }
    NoteAlive(account, 0);
    return reply({});
  }
  EventSink* sink;
  {
    std::lock_guard lock(mutex_);
    if (event->type == EventType::kBotRemoved) {
      // This account acts no more in the group (whatever the engine does with the event); it
      // does not become the group's account either.
      gone_.insert({account.index, event->group});
      spdlog::warn("qq: account {} left group {}: it sends nothing more there", self_id, event->group);
    } else if (!event->group.empty()) {
      if (event->type == EventType::kBotAdded) gone_.erase({account.index, event->group});
      group_account_[event->group] = account.index;
    }
    sink = sink_;
  }
  if (sink == nullptr) return refuse(503, "stopping");
  std::vector<Event> events;
  events.push_back(std::move(*event));
  sink->Submit(std::move(events), [this, account_ptr, reply = std::move(reply)](SinkResult r) {
    if (r.status.ok()) {
      NoteAlive(*account_ptr, 1);
      return reply({});
    }
    NoteError(*account_ptr, r.status.ToString());
    reply({.status = 503, .body = R"({"error":"busy"})"});
  });
}

Result<MessageSocketAccept> OneBotAdapter::AcceptSocket(const WebhookRequest& handshake) {
  const std::string self_id = handshake.Header("x-self-id");
  Account* account = Find(self_id);
  if (account == nullptr) {
    spdlog::warn("qq: a WebSocket for an account that is not configured was refused");
    return Status(Code::kUnauthenticated, "unknown account (X-Self-ID)");
  }
  if (account->options.access_token.empty()) {
    NoteError(*account, "a WebSocket was refused: no access_token is configured for this account");
    return Status(Code::kUnauthenticated, "no access_token is configured for this account");
  }
  if (!ConstantTimeEquals(PresentedToken(handshake.Header("authorization")), account->options.access_token.reveal())) {
    spdlog::warn("qq: account {}: a WebSocket with a missing or wrong access token was refused", self_id);
    NoteError(*account, "a WebSocket with a missing or wrong access token was refused");
    return Status(Code::kUnauthenticated, "missing or wrong access token (Authorization)");
  }
  // One URL carries both events and API calls ("Universal"); the split roles would need two.
  const std::string role = handshake.Header("x-client-role");
  if (!role.empty() && role != "Universal") {
    return Status::Invalid("only X-Client-Role: Universal is served (set the implementation's reverse "
                           "WebSocket to one universal URL)",
                           "x-client-role");
  }
  auto link = std::make_shared<SocketLink>();
  {
    std::lock_guard lock(mutex_);
    if (sink_ == nullptr) return Status::Unavailable("stopping");
    link->adapter = this;
    std::erase_if(links_, [](const std::shared_ptr<SocketLink>& l) { return l.use_count() == 1; });
    links_.push_back(link);
  }
  return MessageSocketAccept([link, account](std::shared_ptr<MessageSocket> socket) -> MessageSocketHandler {
    std::lock_guard lock(link->mu);
    if (link->adapter == nullptr) {
      socket->Close();
      return {};
    }
    return link->adapter->Attach(*account, std::move(socket), link);
  });
}

MessageSocketHandler OneBotAdapter::Attach(Account& account, std::shared_ptr<MessageSocket> socket,
                                           std::shared_ptr<SocketLink> link) {
  std::shared_ptr<MessageSocket> replaced;
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    replaced = std::move(account.socket);
    account.socket = std::move(socket);
    generation = ++account.socket_generation;
    account.health.state = "connected";
  }
  if (replaced) {
    spdlog::info("qq: account {}: a new WebSocket replaces the one before", account.options.self_id);
    replaced->Close();
  } else {
    spdlog::info("qq: account {}: WebSocket connected", account.options.self_id);
  }
  Account* a = &account;
  return {.on_message =
              [link, a, generation](std::string text) {
                std::lock_guard lock(link->mu);
                if (link->adapter != nullptr) link->adapter->OnSocketMessage(*a, generation, std::move(text));
              },
          .on_close =
              [link, a, generation] {
                std::lock_guard lock(link->mu);
                if (link->adapter != nullptr) link->adapter->OnSocketClosed(*a, generation);
              }};
}

void OneBotAdapter::OnSocketMessage(Account& account, uint64_t generation, std::string text) {
  // A frame is the answer to a call (a top-level string `echo`) or an event report (a top-level
  // post_type). Decided on the top level: the names and texts inside may be anything (a member
  // list's nicknames, a message's text), so a substring only says which to look at. Only frames
  // that mention "echo" are parsed here: reports are many, and the report parser reads them anyway.
  if (text.find("\"echo\"") != std::string::npos) {
    const nlohmann::json frame = nlohmann::json::parse(text, nullptr, false);
    if (frame.is_object() && !frame.contains("post_type")) {
      const auto echo = frame.find("echo");
      if (echo != frame.end() && echo->is_string()) {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(echo->get<std::string>());
        if (it == pending_.end() || it->second->account != account.index || it->second->generation != generation) {
          return;  // the answer to a call that gave up waiting
        }
        it->second->answer = std::move(text);
        it->second->done.notify_all();
        pending_.erase(it);
        return;
      }
    }
  }
  if (text.find("\"post_type\"") == std::string::npos) {
    spdlog::warn("qq: account {}: a WebSocket frame that is neither a report nor an answer was skipped",
                 account.options.self_id);
    NoteError(account, "a WebSocket frame that is neither a report nor an answer was skipped");
    return;
  }
  // Over the socket, a report is already authenticated (the handshake's token): no signature.
  HandleReport(account, text, [this, &account](WebhookResponse r) {
    if (r.status == 200) return;
    spdlog::warn("qq: account {}: a report over the WebSocket was not taken in ({}): {}", account.options.self_id,
                 r.status, r.body);
    NoteError(account, fmt::format("a report over the WebSocket was not taken in ({})", r.status));
  });
}

void OneBotAdapter::OnSocketClosed(Account& account, uint64_t generation) {
  std::lock_guard lock(mutex_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second->account == account.index && it->second->generation == generation) {
      it->second->closed = true;
      it->second->done.notify_all();
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  if (account.socket_generation != generation) return;  // a newer socket replaced it
  account.socket.reset();
  if (sink_ != nullptr) account.health.state = "retrying";
  spdlog::warn("qq: account {}: WebSocket closed; waiting for the implementation to connect again",
               account.options.self_id);
}

namespace {

onebot::Response Outcome(PerformResult::Kind kind, std::string error) {
  onebot::Response r;
  r.result = {.kind = kind, .error = std::move(error)};
  r.data = "null";
  return r;
}

}  // namespace

std::optional<onebot::Response> OneBotAdapter::CallOverSocket(Account& account, const onebot::OneBotCall& c,
                                                              std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!account.socket) return std::nullopt;
  auto call = std::make_shared<PendingCall>();
  call->account = account.index;
  call->generation = account.socket_generation;
  const std::string echo = fmt::format("qz-{}", next_echo_++);
  if (!account.socket->Send(onebot::CallEnvelope(c, echo))) return std::nullopt;  // closing: nothing went out
  pending_.emplace(echo, call);
  const bool answered = call->done.wait_for(lock, timeout, [&] { return call->answer || call->closed; });
  if (!answered) pending_.erase(echo);
  if (call->answer) {
    lock.unlock();
    return onebot::ParseResponse(200, *call->answer, account.options.self_id);
  }
  lock.unlock();
  const std::string why = call->closed ? "the WebSocket closed before the answer" : "no answer over the WebSocket in time";
  NoteError(account, why);
  return Outcome(PerformResult::Kind::kUnknown, why);
}

onebot::Response OneBotAdapter::Call(Account& account, onebot::OneBotCall call, std::chrono::milliseconds timeout) {
  if (auto over_socket = CallOverSocket(account, call, timeout)) {
    if (over_socket->result.kind == PerformResult::Kind::kDone) NoteAlive(account, 0);
    return std::move(*over_socket);
  }
  if (account.options.api_url.empty()) {
    // Waits for the implementation's WebSocket to connect (again); nothing was sent.
    return Outcome(PerformResult::Kind::kRetry,
                   fmt::format("account {} is not connected and has no api_url", account.options.self_id));
  }
  HttpClientRequest request;
  request.method = "POST";
  request.url = fmt::format("{}/{}", account.options.api_url, call.action);
  request.headers = {{"Content-Type", "application/json"}};
  if (!account.options.access_token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + account.options.access_token.reveal());
  }
  request.body = std::move(call.params);
  request.timeout = timeout;
  auto response = client_.Send(request);
  if (!response.ok()) {
    NoteError(account, response.status().message());
    return Outcome(PerformResult::Kind::kRetry, response.status().message());
  }
  onebot::Response r = onebot::ParseResponse(response->status, response->body, account.options.self_id);
  if (r.result.kind == PerformResult::Kind::kDone) {
    NoteAlive(account, 0);
  } else {
    NoteError(account, r.result.error);
  }
  return r;
}

PerformResult OneBotAdapter::Perform(const OutboxRecord& record) {
  auto call = onebot::BuildCall(record);
  if (!call.ok()) return {.kind = PerformResult::Kind::kFailed, .error = call.status().ToString()};
  const bool sync = record.action.type == ActionType::kSyncMembers;
  Account* account = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (sync && sink_ == nullptr) {
      // Its answer is events, and before Start (or after Stop) there is nowhere to take them.
      return {.kind = PerformResult::Kind::kRetry, .error = "a member sync waits until events are taken in"};
    }
    if (!call->self_id.empty()) {
      for (const auto& a : accounts_) {
        if (a->options.self_id == call->self_id) account = a.get();
      }
    } else if (auto it = group_account_.find(record.action.group); it != group_account_.end()) {
      account = accounts_[it->second].get();
    } else if (!accounts_.empty()) {
      account = accounts_.front().get();
    }
    if (account != nullptr && gone_.contains({account->index, record.action.group})) {
      return {.kind = PerformResult::Kind::kFailed,
              .error = fmt::format("account {} is no longer in group {}", account->options.self_id, record.action.group)};
    }
  }
  if (account == nullptr) {
    return {.kind = PerformResult::Kind::kFailed, .error = fmt::format("no account {} is configured", call->self_id)};
  }
  onebot::Response response =
      Call(*account, std::move(*call), sync ? std::max(socket_call_timeout_, kMemberListTimeout) : socket_call_timeout_);
  if (!sync || response.result.kind != PerformResult::Kind::kDone) return response.result;
  return TakeInMembers(*account, record.action.group, response.data);
}

EventSink* OneBotAdapter::AcquireSink() {
  std::lock_guard lock(mutex_);
  if (sink_ != nullptr) ++sink_users_;
  return sink_;
}

void OneBotAdapter::ReleaseSink() {
  std::lock_guard lock(mutex_);
  if (--sink_users_ == 0) sink_idle_.notify_all();
}

PerformResult OneBotAdapter::TakeInMembers(Account& account, const std::string& group, const std::string& data) {
  const std::string& self_id = account.options.self_id;
  Result<onebot::GroupMemberList> list = onebot::ParseGroupMembers(data);
  if (!list.ok()) {
    // The same answer would come again: not worth repeating.
    const std::string why = fmt::format("get_group_member_list answered no member list: {}", list.status().ToString());
    NoteError(account, why);
    return {.kind = PerformResult::Kind::kFailed, .error = why};
  }
  std::vector<std::string> bots;
  for (const auto& a : accounts_) bots.push_back(a->options.self_id);
  std::vector<Event> events = onebot::MemberSyncedEvents(group, list->members, bots, clock_.Now());
  int64_t accepted = 0;
  int64_t duplicates = 0;
  size_t refused = 0;
  std::string first_refusal;
  for (size_t from = 0; from < events.size(); from += kSyncBatchEvents) {
    const size_t to = std::min(events.size(), from + kSyncBatchEvents);
    std::vector<Event> batch(std::make_move_iterator(events.begin() + static_cast<ptrdiff_t>(from)),
                             std::make_move_iterator(events.begin() + static_cast<ptrdiff_t>(to)));
    EventSink* sink = AcquireSink();
    if (sink == nullptr) {
      // The batches taken in so far stay; a repeat of the sync finds them duplicates.
      return {.kind = PerformResult::Kind::kRetry, .error = "stopped during a member sync"};
    }
    SinkResult r = sink->SubmitAndWait(std::move(batch));
    ReleaseSink();
    if (!r.status.ok()) {
      NoteError(account, r.status.ToString());
      return {.kind = PerformResult::Kind::kRetry,
              .error = fmt::format("member sync of group {}: {}", group, r.status.ToString())};
    }
    accepted += r.accepted;
    duplicates += r.duplicates;
    refused += r.rejected.size();
    if (first_refusal.empty() && !r.rejected.empty()) first_refusal = r.rejected.front().error.ToString();
  }
  NoteAlive(account, static_cast<size_t>(accepted));
  spdlog::info("qq: account {}: group {}: {} members listed ({} new or changed, {} unchanged)", self_id, group,
               events.size(), accepted, duplicates);
  if (list->skipped > 0 || list->truncated > 0) {
    spdlog::warn("qq: account {}: group {}: the member list had {} rows without a member and {} beyond the {} "
                 "a sync takes in: those were left out",
                 self_id, group, list->skipped, list->truncated, onebot::kMaxGroupMembers);
  }
  if (refused > 0) {
    const std::string why = fmt::format("member sync of group {}: {} of {} members refused ({})", group, refused,
                                        events.size(), first_refusal);
    spdlog::warn("qq: account {}: {}", self_id, why);
    NoteError(account, why);
    // Nothing of it taken in: the action did nothing, and saying done would hide that.
    if (refused == events.size()) return {.kind = PerformResult::Kind::kFailed, .error = why};
  }
  return {};
}

namespace {

bool IsQqNumber(std::string_view s) {
  return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class OneBotFactory : public AdapterFactory {
 public:
  std::string_view platform() const override { return onebot::kPlatform; }

  std::unique_ptr<PlatformAdapter> Create(TableReader& section, const AdapterEnv& env) const override {
    const size_t problems_before = section.problems().size();
    OneBotOptions options;
    options.rate_limits = ReadRateLimits(section, onebot::OneBotRateLimits());
    // One account written in the section itself, or several under [[platforms.qq.accounts]].
    auto read_account = [&](TableReader& r) {
      OneBotAccountOptions a;
      if (!r.String("self_id", a.self_id)) {
        r.Require("self_id", "the account's QQ number (reports carry it in X-Self-ID)");
      } else if (!IsQqNumber(a.self_id)) {
        r.Invalid("self_id", "must be a QQ number (decimal digits)");
      }
      if (r.String("api_url", a.api_url)) {
        if (auto url = ParseHttpUrl(a.api_url); !url.ok()) r.Invalid("api_url", url.status().message());
      }
      ReadSecret(r, "access_token", a.access_token);
      ReadSecret(r, "secret", a.secret);
      options.accounts.push_back(std::move(a));
    };
    if (const toml::array* accounts = section.Array("accounts")) {
      for (size_t i = 0; i < accounts->size(); ++i) {
        const std::string path = fmt::format("{}[{}]", section.PathOf("accounts"), i);
        const toml::table* t = (*accounts)[i].as_table();
        if (t == nullptr) {
          section.Invalid("accounts", fmt::format("{} must be a table with self_id, api_url and secret", path));
          continue;
        }
        TableReader r(*t, path, section.problems());
        read_account(r);
        r.Done();
      }
    } else {
      read_account(section);
    }
    std::set<std::string> ids;
    for (const auto& a : options.accounts) {
      if (!ids.insert(a.self_id).second) section.Invalid("accounts", fmt::format("account {} is listed twice", a.self_id));
    }
    if (section.problems().size() != problems_before) return nullptr;
    return std::make_unique<OneBotAdapter>(env.clock, std::move(options));
  }
};

}  // namespace

std::unique_ptr<AdapterFactory> MakeOneBotFactory() { return std::make_unique<OneBotFactory>(); }

}  // namespace qz
