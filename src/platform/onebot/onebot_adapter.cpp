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
    std::lock_guard lock(mutex_);
    sink_ = nullptr;
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
    if (const auto* m = std::get_if<onebot::BotMembership>(&report->content)) {
      std::lock_guard lock(mutex_);
      if (m->change == onebot::BotMembership::Change::kJoined) {
        gone_.erase({account.index, m->group});
      } else {
        gone_.insert({account.index, m->group});
        spdlog::warn("qq: account {} left group {}: it sends nothing more there", self_id, m->group);
      }
    } else if (const auto* meta = std::get_if<onebot::Meta>(&report->content)) {
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
      spdlog::info("qq: account {}: {} asks to join group {} (answered in QQ; not handled by qunzhu yet)", self_id,
                   r->user, r->group);
    }
    NoteAlive(account, 0);
    return reply({});
  }
  if (!event->group.empty()) {
    std::lock_guard lock(mutex_);
    group_account_[event->group] = account.index;
  }
  EventSink* sink;
  {
    std::lock_guard lock(mutex_);
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
  // A frame is an event report (it has post_type) or the answer to a call (it has our echo).
  if (text.find("\"post_type\"") == std::string::npos) {
    nlohmann::json frame = nlohmann::json::parse(text, nullptr, false);
    const nlohmann::json* echo = frame.is_object() && frame.contains("echo") ? &frame["echo"] : nullptr;
    if (echo == nullptr || !echo->is_string()) {
      spdlog::warn("qq: account {}: a WebSocket frame that is neither a report nor an answer was skipped",
                   account.options.self_id);
      NoteError(account, "a WebSocket frame that is neither a report nor an answer was skipped");
      return;
    }
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

std::optional<PerformResult> OneBotAdapter::PerformOverSocket(Account& account,
                                                              const std::string& action, const std::string& params) {
  std::unique_lock lock(mutex_);
  if (!account.socket) return std::nullopt;
  auto call = std::make_shared<PendingCall>();
  call->account = account.index;
  call->generation = account.socket_generation;
  const std::string echo = fmt::format("qz-{}", next_echo_++);
  std::string frame = fmt::format(R"({{"action":{},"params":{},"echo":{}}})", JsonString(action), params, JsonString(echo));
  if (!account.socket->Send(std::move(frame))) return std::nullopt;  // closing: nothing went out
  pending_.emplace(echo, call);
  const bool answered = call->done.wait_for(lock, socket_call_timeout_, [&] { return call->answer || call->closed; });
  if (!answered) pending_.erase(echo);
  if (call->answer) {
    lock.unlock();
    return onebot::ParseResponse(200, *call->answer, account.options.self_id).result;
  }
  lock.unlock();
  const std::string why = call->closed ? "the WebSocket closed before the answer" : "no answer over the WebSocket in time";
  NoteError(account, why);
  return PerformResult{.kind = PerformResult::Kind::kUnknown, .error = why};
}

PerformResult OneBotAdapter::Perform(const OutboxRecord& record) {
  auto call = onebot::BuildCall(record);
  if (!call.ok()) return {.kind = PerformResult::Kind::kFailed, .error = call.status().ToString()};
  Account* account = nullptr;
  {
    std::lock_guard lock(mutex_);
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
  if (auto over_socket = PerformOverSocket(*account, call->action, call->params)) {
    if (over_socket->kind == PerformResult::Kind::kDone) NoteAlive(*account, 0);
    return *over_socket;
  }
  if (account->options.api_url.empty()) {
    // Waits for the implementation's WebSocket to connect (again); nothing was sent.
    return {.kind = PerformResult::Kind::kRetry,
            .error = fmt::format("account {} is not connected and has no api_url", account->options.self_id)};
  }
  HttpClientRequest request;
  request.method = "POST";
  request.url = fmt::format("{}/{}", account->options.api_url, call->action);
  request.headers = {{"Content-Type", "application/json"}};
  if (!account->options.access_token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + account->options.access_token.reveal());
  }
  request.body = std::move(call->params);
  auto response = client_.Send(request);
  if (!response.ok()) {
    NoteError(*account, response.status().message());
    return {.kind = PerformResult::Kind::kRetry, .error = response.status().message()};
  }
  onebot::Response r = onebot::ParseResponse(response->status, response->body, account->options.self_id);
  if (r.result.kind == PerformResult::Kind::kDone) {
    NoteAlive(*account, 0);
  } else {
    NoteError(*account, r.result.error);
  }
  return r.result;
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
