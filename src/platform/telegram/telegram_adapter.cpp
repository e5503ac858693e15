#include "platform/telegram/telegram_adapter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "core/file.hpp"
#include "core/token.hpp"
#include "core/toml_reader.hpp"
#include "model/event.hpp"
#include "platform/telegram/telegram_protocol.hpp"

namespace qz {

struct TelegramAdapter::Bot {
  size_t index = 0;
  std::string name;
  std::string id;  // the token's numeric prefix: the bot's user id
  int64_t user_id = 0;  // the same as a number (0 if it is none), for the translation layer
  Secret token;
  int64_t offset = 0;  // the next getUpdates offset; only the polling thread touches it
  ConnectionHealth health;  // guarded by the adapter's mutex_
};

namespace {

// The updates qunzhu reads; chat_member must be asked for (Telegram leaves it out by default).
constexpr std::string_view kAllowedUpdates =
    R"(["message","edited_message","chat_member","my_chat_member","chat_join_request"])";

std::optional<int64_t> ReadOffset(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  int64_t value = 0;
  if (!(in >> value) || value < 0) return std::nullopt;
  return value;
}

// The chat an action goes to.
std::string ChatOf(const Action& a) { return a.type == ActionType::kSendDirect ? a.member : a.group; }

}  // namespace

TelegramAdapter::TelegramAdapter(const Clock& clock, TelegramOptions options)
    : clock_(clock), options_(std::move(options)) {
  while (!options_.api_root.empty() && options_.api_root.back() == '/') options_.api_root.pop_back();
  for (size_t i = 0; i < options_.bots.size(); ++i) {
    auto bot = std::make_unique<Bot>();
    bot->index = i;
    bot->token = options_.bots[i].token;
    const std::string& t = bot->token.reveal();
    bot->id = t.substr(0, t.find(':'));
    std::from_chars(bot->id.data(), bot->id.data() + bot->id.size(), bot->user_id);
    bot->name = options_.bots[i].name.empty() ? "bot" + bot->id : options_.bots[i].name;
    bot->offset = ReadOffset(OffsetPath(i)).value_or(0);
    bot->health.name = bot->name;
    bot->health.state = "starting";
    bots_.push_back(std::move(bot));
  }
}

TelegramAdapter::~TelegramAdapter() { Stop(); }

std::string_view TelegramAdapter::platform() const { return telegram::kPlatform; }
Capabilities TelegramAdapter::capabilities() const { return telegram::TelegramCapabilities(); }

std::string TelegramAdapter::OffsetPath(size_t index) const {
  const std::string& t = options_.bots[index].token.reveal();
  return fmt::format("{}/telegram-{}.offset", options_.data_dir.empty() ? "." : options_.data_dir,
                     t.substr(0, t.find(':')));
}

Status TelegramAdapter::Start(EventSink& sink) {
  {
    std::lock_guard lock(mutex_);
    sink_ = &sink;
  }
  // Each thread says when it is done, so that Stop can keep cancelling until then: a request
  // started just after a cancel would otherwise hold Stop for a whole long poll.
  auto run = [this](auto body) {
    {
      std::lock_guard lock(mutex_);
      ++running_;
    }
    return [this, body] {
      body();
      std::lock_guard lock(mutex_);
      --running_;
      wake_.notify_all();
    };
  };
  for (auto& bot : bots_) {
    Bot* b = bot.get();
    if (options_.mode == TelegramOptions::Mode::kWebhook) {
      threads_.emplace_back(run([this, b] { SetWebhook(*b); }));
    } else {
      spdlog::info("telegram: {} polls {} from update {}", b->name, options_.api_root, b->offset);
      threads_.emplace_back(run([this, b, &sink] { Poll(*b, sink); }));
    }
  }
  return Status::Ok();
}

void TelegramAdapter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    sink_ = nullptr;
  }
  wake_.notify_all();
  for (;;) {
    client_.CancelAll();
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return running_ == 0; })) break;
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool TelegramAdapter::SleepFor(TimeMs ms) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
  return !stopping_;
}

void TelegramAdapter::NoteError(Bot& bot, std::string error) {
  std::lock_guard lock(mutex_);
  ++bot.health.errors;
  bot.health.state = "retrying";
  bot.health.last_error = std::move(error);
}

void TelegramAdapter::NoteEvents(Bot& bot, size_t count) {
  std::lock_guard lock(mutex_);
  bot.health.state = "connected";
  if (count == 0) return;
  bot.health.events += static_cast<int64_t>(count);
  bot.health.last_event = clock_.Now();
}

std::vector<ConnectionHealth> TelegramAdapter::health() const {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionHealth> out;
  for (const auto& bot : bots_) {
    out.push_back(bot->health);
    if (stopping_) out.back().state = "stopped";
  }
  return out;
}

void TelegramAdapter::Remember(const std::string& chat, size_t bot) {
  std::lock_guard lock(mutex_);
  chat_bot_[chat] = bot;
}

TelegramAdapter::Bot& TelegramAdapter::BotFor(const std::string& chat) {
  std::lock_guard lock(mutex_);
  auto it = chat_bot_.find(chat);
  return *bots_[it == chat_bot_.end() ? 0 : it->second];
}

TelegramAdapter::Bot& TelegramAdapter::BotForRequest(std::string_view request, const std::string& chat) {
  // "<bot id>:<chat id>:<user id>" (telegram_protocol.hpp): the bot that received the request is
  // an admin that may answer it, which the bot that last saw the chat need not be.
  const std::string_view bot_id = request.substr(0, request.find(':'));
  for (const auto& bot : bots_) {
    if (!bot_id.empty() && bot->id == bot_id) return *bot;
  }
  return BotFor(chat);
}

Result<HttpClientResponse> TelegramAdapter::Call(const Bot& bot, std::string_view method, std::string body,
                                                 std::chrono::milliseconds timeout) {
  HttpClientRequest request;
  request.method = "POST";
  request.url = fmt::format("{}/bot{}/{}", options_.api_root, bot.token.reveal(), method);
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::move(body);
  request.timeout = timeout;
  return client_.Send(request);
}

void TelegramAdapter::Absorb(const Bot& bot, telegram::ParsedUpdate& u, std::vector<Event>& events) {
  if (!u.error.ok()) {
    spdlog::warn("telegram: {}: update {} skipped: {}", bot.name, u.update_id.value_or(-1), u.error.ToString());
  }
  for (Event& e : u.events) {
    if (!e.group.empty()) Remember(e.group, bot.index);
    events.push_back(std::move(e));
  }
  // The engine follows the facts too: a migrated group keeps its history under its new id, and
  // nothing is sent to a group the bot left.
  if (u.migration) events.push_back(telegram::MigrationEvent(*u.migration));
  if (u.bot_membership) {
    if (auto e = telegram::BotMembershipEvent(*u.bot_membership)) events.push_back(std::move(*e));
  }
  std::lock_guard lock(mutex_);
  if (u.migration) {
    moved_[std::to_string(u.migration->old_chat_id)] = std::to_string(u.migration->new_chat_id);
    chat_bot_[std::to_string(u.migration->new_chat_id)] = bot.index;
    spdlog::info("telegram: {}: group {} became supergroup {}", bot.name, u.migration->old_chat_id,
                 u.migration->new_chat_id);
  }
  if (u.bot_membership) {
    using Change = telegram::BotMembership::Change;
    const std::string chat = std::to_string(u.bot_membership->chat_id);
    if (u.bot_membership->change == Change::kRemoved || u.bot_membership->change == Change::kKicked) {
      gone_.insert(chat);
      spdlog::warn("telegram: {} was removed from chat {}: nothing more is sent there", bot.name, chat);
    } else if (u.bot_membership->change == Change::kAdded) {
      gone_.erase(chat);
      chat_bot_[chat] = bot.index;
    }
  }
}

void TelegramAdapter::SetWebhook(Bot& bot) {
  const std::string url = fmt::format("{}/webhooks/telegram/{}", options_.public_url, bot.name);
  const std::string body = fmt::format(R"({{"url":{},"secret_token":{},"allowed_updates":{}}})", JsonString(url),
                                       JsonString(options_.webhook_secret.reveal()), kAllowedUpdates);
  for (TimeMs backoff = 1000;; backoff = std::min<TimeMs>(backoff * 2, options_.max_backoff_ms)) {
    auto response = Call(bot, "setWebhook", body);
    const std::string why = !response.ok()           ? response.status().message()
                            : response->status == 200 ? std::string()
                                                      : fmt::format("answered {}: {}", response->status, response->body);
    if (why.empty()) {
      spdlog::info("telegram: {} receives its updates at {}", bot.name, url);
      NoteEvents(bot, 0);
      return;
    }
    NoteError(bot, "setWebhook: " + why);
    spdlog::warn("telegram: {}: setWebhook failed ({}); trying again in {} ms", bot.name, why, backoff);
    if (!SleepFor(backoff)) return;
  }
}

std::vector<std::string> TelegramAdapter::webhook_names() const {
  std::vector<std::string> names;
  if (options_.mode != TelegramOptions::Mode::kWebhook) return names;
  for (const auto& bot : bots_) names.push_back(bot->name);
  return names;
}

void TelegramAdapter::HandleWebhook(WebhookRequest request, WebhookReply reply) {
  Bot* bot = nullptr;
  for (const auto& b : bots_) {
    if (b->name == request.name) bot = b.get();
  }
  if (bot == nullptr) return reply({.status = 404, .body = R"({"error":"no such bot"})"});
  if (!ConstantTimeEquals(request.Header("x-telegram-bot-api-secret-token"), options_.webhook_secret.reveal())) {
    spdlog::warn("telegram: {}: a webhook call without the right secret token was refused", bot->name);
    NoteError(*bot, "a webhook call without the right secret token was refused");
    return reply({.status = 401, .body = R"({"error":"wrong secret token"})"});
  }
  telegram::ParsedUpdate update = telegram::ParseWebhookUpdate(request.body, bot->user_id);
  std::vector<Event> events;
  Absorb(*bot, update, events);
  // A malformed update is answered 200 all the same: Telegram would only send it again.
  if (events.empty()) return reply({});
  EventSink* sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (sink == nullptr) return reply({.status = 503, .body = R"({"error":"stopping"})"});
  const size_t count = events.size();
  sink->Submit(std::move(events), [this, bot, count, reply = std::move(reply)](SinkResult r) {
    // Not taken: Telegram delivers the update again later.
    if (r.status.ok()) {
      NoteEvents(*bot, count);
      return reply({});
    }
    NoteError(*bot, r.status.ToString());
    reply({.status = 503, .body = R"({"error":"busy"})"});
  });
}

void TelegramAdapter::Poll(Bot& bot, EventSink& sink) {
  TimeMs backoff = 0;
  auto fail = [&](std::string_view what) {
    NoteError(bot, std::string(what));
    backoff = std::clamp<TimeMs>(backoff * 2, 1000, options_.max_backoff_ms);
    spdlog::warn("telegram: {}: {}; polling again in {} ms", bot.name, what, backoff);
    return SleepFor(backoff);
  };
  // A webhook left set (by an earlier webhook-mode run) makes getUpdates answer 409.
  if (auto r = Call(bot, "deleteWebhook", R"({"drop_pending_updates":false})"); !r.ok() || r->status != 200) {
    spdlog::warn("telegram: {}: deleteWebhook failed ({}); polling anyway", bot.name,
                 r.ok() ? fmt::format("answered {}", r->status) : r.status().message());
  }
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    const auto started = std::chrono::steady_clock::now();
    auto response = Call(bot, "getUpdates",
                         fmt::format(R"({{"offset":{},"timeout":{},"allowed_updates":{}}})", bot.offset,
                                     options_.poll_timeout_s, kAllowedUpdates),
                         std::chrono::seconds(options_.poll_timeout_s + 15));
    if (!response.ok()) {
      if (!fail(response.status().message())) return;
      continue;
    }
    auto batch = telegram::ParseGetUpdates(response->body, bot.user_id);
    if (!batch.ok()) {
      // 409: another poller or a webhook holds this bot; 401: a wrong token.
      if (!fail(fmt::format("getUpdates answered {}: {}", response->status, batch.status().message()))) return;
      continue;
    }
    std::vector<Event> events;
    for (telegram::ParsedUpdate& u : batch->updates) Absorb(bot, u, events);
    if (!events.empty()) {
      const size_t count = events.size();
      SinkResult r = sink.SubmitAndWait(std::move(events));
      if (!r.status.ok()) {
        // Nothing was applied: the same updates are fetched again (the offset did not move).
        if (!fail(fmt::format("{} events not taken: {}", count, r.status.ToString()))) return;
        continue;
      }
      for (const RejectedEvent& rejected : r.rejected) {
        spdlog::warn("telegram: {}: an event was refused: {}", bot.name, rejected.error.ToString());
      }
      NoteEvents(bot, count);
    } else {
      NoteEvents(bot, 0);
    }
    backoff = 0;
    if (batch->next_offset > bot.offset) {
      // Durable before the next call confirms the updates to Telegram (which then forgets them).
      if (Status s = WriteFileAtomically(OffsetPath(bot.index), std::to_string(batch->next_offset) + "\n", 0600); !s.ok()) {
        if (!fail(s.message())) return;
        continue;
      }
      bot.offset = batch->next_offset;
    }
    const auto took = std::chrono::steady_clock::now() - started;
    if (batch->updates.empty() && took < std::chrono::milliseconds(options_.idle_wait_ms)) {
      if (!SleepFor(options_.idle_wait_ms)) return;
    }
  }
}

PerformResult TelegramAdapter::Perform(const OutboxRecord& record) {
  OutboxRecord r = record;
  std::string chat = ChatOf(r.action);
  const bool sync = r.action.type == ActionType::kSyncMembers;
  {
    std::lock_guard lock(mutex_);
    if (auto it = moved_.find(chat); it != moved_.end() && r.action.type != ActionType::kSendDirect) {
      r.action.group = it->second;
      chat = it->second;
    }
    if (gone_.contains(chat)) {
      return {.kind = PerformResult::Kind::kFailed, .error = fmt::format("the bot is no longer in chat {}", chat)};
    }
    // The answer of a sync is brought in through the sink: not before Start (delivery runs
    // first), nor after Stop.
    if (sync && sink_ == nullptr) {
      return {.kind = PerformResult::Kind::kRetry, .error = "sync_members: the Telegram adapter is not running"};
    }
  }
  auto call = telegram::BuildCall(r, clock_.Now());
  if (!call.ok()) return {.kind = PerformResult::Kind::kFailed, .error = call.status().ToString()};
  Bot& bot = r.action.type == ActionType::kAnswerJoinRequest ? BotForRequest(r.action.request, chat) : BotFor(chat);
  const std::string method = call->method;
  auto response = Call(bot, method, std::move(call->body));
  if (!response.ok()) {
    NoteError(bot, response.status().message());
    return {.kind = PerformResult::Kind::kRetry, .error = response.status().message()};
  }
  telegram::CallOutcome outcome = telegram::ParseCallResponse(method, response->status, response->body);
  // An action addressed to a group (a direct message's chat is a person's).
  const bool to_group = r.action.type != ActionType::kSendDirect && !r.action.group.empty();
  if (outcome.bot_removed) {
    {
      std::lock_guard lock(mutex_);
      gone_.insert(chat);
    }
    spdlog::warn("telegram: {} may no longer act in chat {} ({}): nothing more is sent there", bot.name, chat,
                 outcome.perform.error);
    if (to_group) Report(bot, {telegram::RefusalEvent(chat, record.id, clock_.Now())});
  }
  if (outcome.migrate_to_chat_id) {
    {
      std::lock_guard lock(mutex_);
      moved_[chat] = std::to_string(*outcome.migrate_to_chat_id);
    }
    int64_t old_id = 0;
    if (to_group && std::from_chars(chat.data(), chat.data() + chat.size(), old_id).ec == std::errc() &&
        old_id != *outcome.migrate_to_chat_id) {
      Report(bot, {telegram::MigrationEvent({old_id, *outcome.migrate_to_chat_id, clock_.Now()})});
    }
    // Redone at once in the supergroup the group became.
    outcome.perform.kind = PerformResult::Kind::kRetry;
    outcome.perform.retry_after_ms = 0;
  }
  if (sync && outcome.perform.kind == PerformResult::Kind::kDone) return Sync(chat, response->body);
  return outcome.perform;
}

// Durable before kDone, so that a sync that is done has its effect in the state; a batch ingest
// did not take is a retry (asking again is harmless: an unchanged role is a duplicate).
PerformResult TelegramAdapter::Sync(const std::string& chat, std::string_view body) {
  auto admins = telegram::ParseChatAdministrators(body);
  if (!admins.ok()) {
    // Telegram's own answer, well-formed but not as documented: asking again gets the same.
    return {.kind = PerformResult::Kind::kFailed, .error = "getChatAdministrators: " + admins.status().ToString()};
  }
  std::vector<Event> events = telegram::SyncedMemberEvents(chat, *admins, clock_.Now());
  if (events.empty()) return {};
  EventSink* sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (sink == nullptr) {
    return {.kind = PerformResult::Kind::kRetry, .error = "sync_members: the Telegram adapter stopped"};
  }
  const size_t count = events.size();
  SinkResult result = sink->SubmitAndWait(std::move(events));
  if (!result.status.ok()) {
    return {.kind = PerformResult::Kind::kRetry,
            .error = fmt::format("sync_members: {} members not taken: {}", count, result.status.ToString())};
  }
  if (!result.rejected.empty()) {
    // The others are in; these would be refused again.
    return {.kind = PerformResult::Kind::kFailed,
            .error = fmt::format("sync_members: {} of {} members refused: {}", result.rejected.size(), count,
                                 result.rejected.front().error.ToString())};
  }
  return {};
}

// The action's outcome does not depend on these events, so delivery does not wait for them. One
// that is not taken (the adapter is not running, ingest refused it) is logged and lost: the
// adapter itself keeps acting on the fact (gone_, moved_), and a later refusal reports it again.
// A Perform that read the sink just before Stop may submit just after it: the sink is still
// there, as delivery stops after the adapters and before ingest (app/node.cpp).
void TelegramAdapter::Report(Bot& bot, std::vector<Event> events) {
  EventSink* sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (sink == nullptr) {
    spdlog::warn("telegram: {}: {} not reported: the adapter is not running", bot.name, events.front().id);
    return;
  }
  // `done` runs on the writer thread (or here): it only logs and counts.
  sink->Submit(std::move(events), [this, &bot](SinkResult r) {
    if (!r.status.ok()) {
      spdlog::warn("telegram: {}: an event learned from an action was not taken: {}", bot.name, r.status.ToString());
      NoteError(bot, r.status.ToString());
    }
    for (const RejectedEvent& rejected : r.rejected) {
      spdlog::warn("telegram: {}: an event learned from an action was refused: {}", bot.name,
                   rejected.error.ToString());
    }
  });
}

namespace {

class TelegramFactory : public AdapterFactory {
 public:
  std::string_view platform() const override { return telegram::kPlatform; }

  std::unique_ptr<PlatformAdapter> Create(TableReader& section, const AdapterEnv& env) const override {
    const size_t problems_before = section.problems().size();
    TelegramOptions options;
    options.data_dir = env.data_dir;
    if (section.String("api_root", options.api_root)) {
      if (auto url = ParseHttpUrl(options.api_root); !url.ok()) {
        section.Invalid("api_root", url.status().message());
      }
    }
    std::string mode = "polling";
    if (section.String("mode", mode) && mode != "polling" && mode != "webhook") {
      section.Invalid("mode", "must be \"polling\" or \"webhook\"");
    }
    if (mode == "webhook") {
      options.mode = TelegramOptions::Mode::kWebhook;
      if (!section.String("public_url", options.public_url)) {
        section.Require("public_url", "the https:// address Telegram reaches this server at (webhook mode)");
      } else if (auto url = ParseHttpUrl(options.public_url); !url.ok()) {
        section.Invalid("public_url", url.status().message());
      }
      while (!options.public_url.empty() && options.public_url.back() == '/') options.public_url.pop_back();
      if (!ReadSecret(section, "webhook_secret", options.webhook_secret)) {
        options.webhook_secret = Secret(RandomHex(32));  // a fresh one at each start
      } else if (!IsToken(options.webhook_secret.reveal(), 1, 256)) {
        section.Invalid("webhook_secret", "must be 1 to 256 letters, digits, _ or - (Telegram's rule)");
      }
    }
    section.Int("poll_timeout_s", options.poll_timeout_s, 0, 50);
    section.Int("idle_wait_ms", options.idle_wait_ms, 0, 60000);
    options.rate_limits = ReadRateLimits(section, telegram::TelegramRateLimits());
    // One bot written in the section itself, or several under [[platforms.telegram.bots]].
    auto read_bot = [&](TableReader& r) {
      TelegramBotOptions bot;
      if (r.String("name", bot.name) && !IsToken(bot.name, 1, 64)) {
        r.Invalid("name", "must be 1 to 64 letters, digits, _ or - (it is part of the webhook path)");
      }
      if (!ReadSecret(r, "token", bot.token)) {
        r.Require("token", "a bot token: token = { env = \"NAME\" } or { file = \"/path\" }");
        return;
      }
      const std::string& t = bot.token.reveal();
      const size_t colon = t.find(':');
      if (colon == 0 || colon == std::string::npos || colon + 1 == t.size() ||
          !std::all_of(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) { return c >= '0' && c <= '9'; })) {
        r.Invalid("token", "is not a Bot API token (<bot id>:<key>, as @BotFather gives it)");
        return;
      }
      options.bots.push_back(std::move(bot));
    };
    if (const toml::array* bots = section.Array("bots")) {
      for (size_t i = 0; i < bots->size(); ++i) {
        const toml::table* t = (*bots)[i].as_table();
        const std::string path = fmt::format("{}[{}]", section.PathOf("bots"), i);
        if (t == nullptr) {
          section.Invalid("bots", fmt::format("{} must be a table with name and token", path));
          continue;
        }
        TableReader r(*t, path, section.problems());
        read_bot(r);
        r.Done();
      }
      if (section.Has("token")) section.Invalid("token", "give the token in each [[bots]] entry, not beside them");
    } else {
      read_bot(section);
    }
    std::set<std::string> ids;
    for (const auto& b : options.bots) {
      const std::string& t = b.token.reveal();
      if (!ids.insert(t.substr(0, t.find(':'))).second) section.Invalid("bots", "the same bot is listed twice");
    }
    if (section.problems().size() != problems_before) return nullptr;
    return std::make_unique<TelegramAdapter>(env.clock, std::move(options));
  }
};

}  // namespace

std::unique_ptr<AdapterFactory> MakeTelegramFactory() { return std::make_unique<TelegramFactory>(); }

}  // namespace qz
