#include "platform/onebot/onebot_adapter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "core/toml_reader.hpp"
#include "platform/onebot/onebot_protocol.hpp"

namespace qz {

struct OneBotAdapter::Account {
  size_t index = 0;
  OneBotAccountOptions options;
  ConnectionHealth health;  // guarded by the adapter's mutex_
};

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

OneBotAdapter::~OneBotAdapter() = default;

std::string_view OneBotAdapter::platform() const { return onebot::kPlatform; }
Capabilities OneBotAdapter::capabilities() const { return onebot::OneBotCapabilities(); }

Status OneBotAdapter::Start(EventSink& sink) {
  std::lock_guard lock(mutex_);
  sink_ = &sink;
  for (const auto& a : accounts_) {
    spdlog::info("qq: account {} reports to /webhooks/qq, acts through {}", a->options.self_id,
                 a->options.api_url.empty() ? "(no HTTP API configured)" : a->options.api_url);
  }
  return Status::Ok();
}

void OneBotAdapter::Stop() {
  std::lock_guard lock(mutex_);
  sink_ = nullptr;
  for (const auto& a : accounts_) a->health.state = "stopped";
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
  if (events == 0) return;
  account.health.events += static_cast<int64_t>(events);
  account.health.last_event = clock_.Now();
}

std::vector<ConnectionHealth> OneBotAdapter::health() const {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionHealth> out;
  for (const auto& a : accounts_) out.push_back(a->health);
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
  Result<onebot::Report> report = [&] {
    std::lock_guard lock(parser_mutex_);
    return parser_->Parse(request.body);
  }();
  if (!report.ok()) {
    // Answered 200 all the same: the implementation would only post it again.
    spdlog::warn("qq: account {}: a report was skipped: {}", self_id, report.status().ToString());
    NoteError(*account, report.status().ToString());
    return reply({});
  }
  if (report->self_id != self_id) return refuse(401, "the report's self_id is not X-Self-ID");
  Event* event = std::get_if<Event>(&report->content);
  if (event == nullptr) {
    if (const auto* m = std::get_if<onebot::BotMembership>(&report->content)) {
      std::lock_guard lock(mutex_);
      if (m->change == onebot::BotMembership::Change::kJoined) {
        gone_.erase({account->index, m->group});
      } else {
        gone_.insert({account->index, m->group});
        spdlog::warn("qq: account {} left group {}: it sends nothing more there", self_id, m->group);
      }
    } else if (const auto* r = std::get_if<onebot::JoinRequest>(&report->content)) {
      spdlog::info("qq: account {}: {} asks to join group {} (answered in QQ; not handled by qunzhu yet)", self_id,
                   r->user, r->group);
    }
    NoteAlive(*account, 0);
    return reply({});
  }
  if (!event->group.empty()) {
    std::lock_guard lock(mutex_);
    group_account_[event->group] = account->index;
  }
  EventSink* sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (sink == nullptr) return refuse(503, "stopping");
  std::vector<Event> events;
  events.push_back(std::move(*event));
  sink->Submit(std::move(events), [this, account, reply = std::move(reply)](SinkResult r) {
    if (r.status.ok()) {
      NoteAlive(*account, 1);
      return reply({});
    }
    NoteError(*account, r.status.ToString());
    reply({.status = 503, .body = R"({"error":"busy"})"});
  });
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
  if (account->options.api_url.empty()) {
    return {.kind = PerformResult::Kind::kFailed,
            .error = fmt::format("account {} has no api_url to act through", account->options.self_id)};
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
