#include "modules/moderation/decide.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/payload.hpp"
#include "core/text/utf8.hpp"
#include "modules/moderation/config.hpp"
#include "modules/moderation/rules.hpp"
#include "modules/moderation/tables.hpp"

namespace qz::moderation {
namespace {

constexpr size_t kMaxStoredText = 4096;

// What fired, before the policy says what to do about it.
struct Finding {
  Signal signal = Signal::kText;
  std::string category;
  std::string rule;
  double score = 0;
  std::vector<std::pair<uint32_t, uint32_t>> spans;  // in the original text
};

std::string Ref(std::string_view platform, std::string_view id) {
  std::string ref;
  ref.reserve(platform.size() + 1 + id.size());
  ref.append(platform).append(1, ':').append(id);
  return ref;
}

std::pair<std::string, std::string> SplitRef(std::string_view ref) {
  const size_t colon = ref.find(':');
  if (colon == std::string_view::npos) return {std::string(ref), {}};
  return {std::string(ref.substr(0, colon)), std::string(ref.substr(colon + 1))};
}

GroupType TypeOf(const ModuleContext& ctx) {
  const Event& e = ctx.event();
  if (const GroupSettings* g = ctx.playbook().FindGroup(e.platform, e.group)) return g->type;
  return ctx.group() != nullptr ? ctx.group()->type : GroupType::kUnspecified;
}

bool IsExempt(const ModuleContext& ctx, const ModerationConfig& config) {
  const Event& e = ctx.event();
  Role role = Role::kMember;
  if (const Membership* m = ctx.membership()) role = m->role;
  if (e.role && static_cast<int>(*e.role) > static_cast<int>(role)) role = *e.role;
  if (std::find(config.exempt_roles.begin(), config.exempt_roles.end(), role) !=
      config.exempt_roles.end()) {
    return true;
  }
  if (config.Exempt(e.platform, e.member)) return true;
  const Member* member = ctx.member();
  return config.exempt_min_points > 0 && member != nullptr &&
         member->points >= config.exempt_min_points;
}

bool IsNewcomer(const ModuleContext& ctx, const ModerationConfig& config) {
  const Membership* m = ctx.membership();
  const Member* member = ctx.member();
  if (member != nullptr && member->messages <= config.newcomer_messages) return true;
  if (m == nullptr) return false;
  return ctx.event().time - m->joined_at < config.newcomer_days * 86400 * 1000;
}

std::string QuotesJson(std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& spans) {
  std::string out = "[";
  for (const auto& [b, e] : spans) {
    if (b >= e || e > text.size()) continue;
    if (out.size() > 1) out += ',';
    out += JsonString(Excerpt(text.substr(b, e - b), 200));
  }
  out += ']';
  return out;
}

int64_t NextId(ModuleContext& ctx, std::string_view counter) {
  CounterRow row = ctx.Find(CounterRow{.name = std::string(counter)})
                       .value_or(CounterRow{.name = std::string(counter)});
  ++row.value;
  ctx.Put(row);
  return row.value;
}

StandingRow StandingOf(const ModuleContext& ctx, MemberId member) {
  return ctx.Find(StandingRow{.member = member}).value_or(StandingRow{.member = member});
}

// The member's strikes after decay.
int64_t CurrentStrikes(const StandingRow& standing, const ModerationConfig& config, TimeMs now) {
  const int64_t decayed = (now - standing.strike_at) / (config.strike_decay_s * 1000);
  return std::max<int64_t>(0, standing.strikes - std::max<int64_t>(0, decayed));
}

std::string_view CategoryText(std::string_view category, Language lang) {
  struct Name {
    std::string_view key, zh, en;
  };
  static constexpr Name kNames[] = {
      {"ads", "广告", "advertising"},          {"fraud", "诈骗", "fraud"},
      {"gambling", "赌博", "gambling"},        {"porn", "色情", "pornography"},
      {"abuse", "辱骂", "abuse"},              {"contact", "留联系方式引流", "contact details for off-group deals"},
      {"illegal_url", "违规网址", "a banned site"}, {"url", "外部链接", "an outside link"},
      {"custom", "本群禁用词", "a word banned in this group"},
      {"flood", "刷屏", "flooding"},           {"cross_group", "多群重复发送", "the same text in several groups"},
      {"mentions", "群发@", "mass mentions"},   {"model", "疑似广告", "likely spam"},
      {"chitchat", "闲聊", "chit-chat"},       {"qr", "二维码引流", "a QR code to elsewhere"},
  };
  for (const Name& n : kNames) {
    if (n.key == category) return lang == Language::kEn ? n.en : n.zh;
  }
  return lang == Language::kEn ? std::string_view("a forbidden message type")
                               : std::string_view("本群不允许的消息类型");
}

Action PlatformAction(const ModuleContext& ctx, ActionType type, std::string evidence) {
  const Event& e = ctx.event();
  Action a;
  a.type = type;
  a.platform = e.platform;
  a.group = e.group;
  a.member = e.member;
  a.evidence = std::move(evidence);
  return a;
}

// Sets (or, on undo, removes) the member's blacklist tag, which the rest of the community reads:
// join verification rejects a tagged member's join requests, operators see it on the profile.
Action BlacklistTag(const std::string& platform, const std::string& member, bool remove) {
  Action a;
  a.type = ActionType::kSetTag;
  a.platform = platform;
  a.member = member;
  a.tag = std::string(kBlacklistTag);
  a.remove_tag = remove;
  return a;
}

// A new decision about the current event by its member: the id and who, where, when.
DecisionRow NewDecision(ModuleContext& ctx, const ModerationConfig& config, const Member& member,
                        const StandingRow& standing) {
  const Event& e = ctx.event();
  DecisionRow d;
  d.id = NextId(ctx, "decision");
  d.time = e.time;
  d.group = Ref(e.platform, e.group);
  d.member = Ref(e.platform, e.member);
  d.member_id = member.id;
  d.name = e.name.empty() ? member.display_name : e.name;
  d.event = Ref(e.platform, e.id);
  d.dry_run = config.dry_run;
  d.status = config.dry_run ? "dry_run" : "applied";
  d.strikes = CurrentStrikes(standing, config, e.time);
  return d;
}

// Records the decision and carries out what the response and the ladder say.
Status Decide(ModuleContext& ctx, const ModerationConfig& config, const Finding& f, Response response) {
  const Event& e = ctx.event();
  const Member* member = ctx.member();
  if (member == nullptr) return Status::Ok();
  const Language lang = ctx.playbook().language;
  StandingRow standing = StandingOf(ctx, member->id);
  DecisionRow d = NewDecision(ctx, config, *member, standing);
  d.signal = std::string(SignalName(f.signal));
  d.category = f.category;
  d.rule = f.rule;
  d.quotes = QuotesJson(e.text, f.spans);
  d.text = std::string(Utf8Prefix(e.text, kMaxStoredText));
  d.score = f.score;
  const std::string evidence = fmt::format("moderation decision #{}: {} {} \"{}\"", d.id, d.signal,
                                           d.category, Excerpt(e.text, 120));
  const std::string reason(CategoryText(f.category, lang));
  std::vector<std::string> done;
  auto act = [&](Action a, std::string what) {
    done.push_back(std::move(what));
    if (!config.dry_run) ctx.Act(std::move(a), d.signal);
  };
  switch (response) {
    case Response::kIgnore:
      return Status::Ok();
    case Response::kReview: {
      Action task = PlatformAction(ctx, ActionType::kOpenTask, evidence);
      task.text = fmt::format("review {} in {} by {}: {}", reason, d.group, d.name, Excerpt(e.text, 200));
      act(std::move(task), "review");
      break;
    }
    case Response::kNudge: {
      if (standing.nudged_at != 0 && e.time - standing.nudged_at < config.nudge_interval_s * 1000) {
        return Status::Ok();
      }
      if (!config.dry_run) standing.nudged_at = e.time;
      Action nudge = PlatformAction(ctx, ActionType::kReply, evidence);
      nudge.reply_to = e.id;
      nudge.text = lang == Language::kEn
                       ? fmt::format("{}, a gentle reminder: please keep this group on topic 🙏", d.name)
                       : fmt::format("{}，温馨提醒：本群请围绕主题交流，闲聊可以私下进行哦 🙏", d.name);
      act(std::move(nudge), "nudge");
      break;
    }
    case Response::kDelete: {
      Action del = PlatformAction(ctx, ActionType::kDeleteMessage, evidence);
      del.reply_to = e.id;
      act(std::move(del), "delete");
      break;
    }
    case Response::kStrike: {
      Action del = PlatformAction(ctx, ActionType::kDeleteMessage, evidence);
      del.reply_to = e.id;
      act(std::move(del), "delete");
      d.strikes += 1;
      const Step& step = config.ladder[static_cast<size_t>(
          std::min<int64_t>(d.strikes, static_cast<int64_t>(config.ladder.size())) - 1)];
      if (step.warn) {
        Action warn = PlatformAction(ctx, ActionType::kWarn, evidence);
        warn.reply_to = e.id;
        const std::string& rules = Pick(ctx.playbook().RulesFor(e.platform, e.group), lang);
        warn.text = lang == Language::kEn
                        ? fmt::format("⚠️ {}, your message was removed: {}. Strike {}.", d.name, reason, d.strikes)
                        : fmt::format("⚠️ {}，你的消息因「{}」已被撤回（第 {} 次）。", d.name, reason, d.strikes);
        if (!rules.empty()) warn.text += (lang == Language::kEn ? "\nGroup rules:\n" : "\n群规：\n") + rules;
        act(std::move(warn), "warn");
      }
      if (step.mute_s > 0) {
        Action mute = PlatformAction(ctx, ActionType::kMute, evidence);
        mute.duration_s = step.mute_s;
        act(std::move(mute), fmt::format("mute:{}", step.mute_s));
      }
      if (step.remove) {
        act(PlatformAction(ctx, ActionType::kRemoveMember, evidence), "remove");
        if (!config.dry_run) {
          ctx.Put(BlacklistRow{.member = member->id, .since = e.time, .decision = d.id});
          ctx.Act(BlacklistTag(e.platform, e.member, /*remove=*/false), "blacklist");
        }
      }
      if (!config.dry_run) {
        standing.strikes = d.strikes;
        standing.strike_at = e.time;
      }
      break;
    }
  }
  std::string actions;
  for (const std::string& s : done) actions += (actions.empty() ? "" : ",") + s;
  d.actions = std::move(actions);
  ctx.Put(d);
  standing.last_decision = d.id;
  ctx.Put(standing);
  return Status::Ok();
}

// Flood: a burst row is kept only while messages come closer together than the window.
bool Flooding(ModuleContext& ctx, const ModerationConfig& config, TimeMs previous) {
  if (config.flood_messages <= 0 || ctx.member() == nullptr || ctx.group() == nullptr) return false;
  const TimeMs now = ctx.event().time;
  const TimeMs window = config.flood_window_s * 1000;
  const BurstRow key{.member = ctx.member()->id, .group = ctx.group()->id};
  if (previous == 0 || now - previous >= window) {
    // A burst row left by a recent burst is cleared; looking further back would cost every
    // ordinary message a state read.
    if (previous != 0 && now - previous < 10 * window && ctx.Find(key)) ctx.Erase(key);
    return false;
  }
  BurstRow burst = ctx.Find(key).value_or(BurstRow{key.member, key.group, previous, 1});
  if (now - burst.start >= window) burst = BurstRow{key.member, key.group, previous, 1};
  ++burst.count;
  ctx.Put(burst);
  return burst.count >= config.flood_messages;
}

// Cross-group: the same long text from one member in several groups within the window.
bool CrossGroup(ModuleContext& ctx, const ModerationConfig& config, const Analysis& a) {
  // Only texts that could be spam are tracked (a hit, a link, or a long text), so ordinary
  // short chat costs no state write.
  if (config.cross_group_groups <= 1 || ctx.member() == nullptr || ctx.group() == nullptr ||
      a.text_chars < static_cast<size_t>(config.cross_group_min_chars) ||
      (a.hits.empty() && !a.has_link && a.text_chars < 3 * static_cast<size_t>(config.cross_group_min_chars))) {
    return false;
  }
  const TimeMs now = ctx.event().time;
  const auto hash = static_cast<int64_t>(a.text_hash);
  const std::string group = std::to_string(ctx.group()->id);
  EchoRow echo = ctx.Find(EchoRow{.member = ctx.member()->id}).value_or(EchoRow{.member = ctx.member()->id});
  if (echo.hash != hash || now - echo.first_at >= config.cross_group_window_s * 1000) {
    echo = EchoRow{.member = ctx.member()->id, .hash = hash, .groups = group, .first_at = now};
    ctx.Put(echo);
    return false;
  }
  size_t count = 1;
  bool seen = false;
  for (size_t i = 0; i <= echo.groups.size();) {
    const size_t comma = std::min(echo.groups.find(',', i), echo.groups.size());
    if (std::string_view(echo.groups).substr(i, comma - i) == group) seen = true;
    i = comma + 1;
    ++count;
  }
  --count;
  if (!seen) {
    echo.groups += "," + group;
    ++count;
    ctx.Put(echo);
  }
  return static_cast<int>(count) >= config.cross_group_groups;
}

Status HandleAppeal(ModuleContext& ctx) {
  const Event& e = ctx.event();
  const Member* member = ctx.member();
  if (member == nullptr) return Status::Ok();
  const Language lang = ctx.playbook().language;
  const int64_t last = StandingOf(ctx, member->id).last_decision;  // 0: none
  // The group says where the appeal came from; a direct message goes to the member alone.
  Action ack = PlatformAction(ctx, ActionType::kSendDirect, {});
  ack.text = lang == Language::kEn ? "We have received your appeal; an operator will look at it soon."
                                   : "已收到你的申诉，管理员会尽快核实处理。";
  ctx.Act(std::move(ack), "appeal");
  Action task;
  task.type = ActionType::kOpenTask;
  task.platform = e.platform;
  task.group = e.group;
  task.member = e.member;
  task.text = last != 0 ? fmt::format("appeal from {} against moderation decision #{}: {}", e.name.empty() ? e.member : e.name,
                                 last, Excerpt(e.text, 200))
                   : fmt::format("appeal from {} (no decision on record): {}", e.name.empty() ? e.member : e.name,
                                 Excerpt(e.text, 200));
  task.evidence = last != 0 ? fmt::format("moderation decision #{}", last) : Ref(e.platform, e.id);
  ctx.Act(std::move(task), "appeal");
  return Status::Ok();
}

}  // namespace

Status HandleMessage(ModuleContext& ctx) {
  const auto& config = ctx.config<ModerationConfig>();
  if (!config.enabled || ctx.message_deleted()) return Status::Ok();
  const Event& e = ctx.event();
  const Analysis* a = ctx.prepared<Analysis>();
  static const Analysis kNothing;
  if (a == nullptr) a = &kNothing;
  if (a->appeal) return HandleAppeal(ctx);
  if (IsExempt(ctx, config)) return Status::Ok();
  const GroupPolicy& policy = config.PolicyFor(TypeOf(ctx));

  // State-keeping signals first: they must see every message.
  const bool flooding = Flooding(ctx, config, ctx.previous_message_time());
  const bool cross_group = CrossGroup(ctx, config, *a);

  std::vector<Finding> found;
  if (std::find(policy.forbid_kinds.begin(), policy.forbid_kinds.end(), e.kind) != policy.forbid_kinds.end()) {
    found.push_back({Signal::kKind, std::string(MessageKindName(e.kind)), std::string(MessageKindName(e.kind)), 1.0, {}});
  }
  const bool newcomer = IsNewcomer(ctx, config);
  double score = 0;
  std::string category;
  ScoreHits(a->hits, newcomer ? config.newcomer_factor : 1.0, score, category);
  if (score >= config.threshold || (newcomer && config.newcomer_links && a->has_link)) {
    Finding f{Signal::kText, score >= config.threshold ? category : "url", {}, score, {}};
    for (const Hit& h : a->hits) {
      if (score < config.threshold ? h.url : h.category == category) {
        if (f.rule.empty()) f.rule = h.name;
        f.spans.emplace_back(h.begin, h.end);
      }
    }
    found.push_back(std::move(f));
  }
  if (a->model_score >= config.model_threshold) {
    found.push_back({Signal::kModel, "model", "model", a->model_score, {}});
  }
  if (config.mass_mentions > 0 && e.mentions.size() >= static_cast<size_t>(config.mass_mentions)) {
    found.push_back({Signal::kMentions, "mentions", fmt::format("{} mentions", e.mentions.size()),
                     static_cast<double>(e.mentions.size()), {}});
  }
  if (flooding) {
    found.push_back({Signal::kFlood, "flood", fmt::format("{} messages in {}s", config.flood_messages,
                                                           config.flood_window_s), 1.0, {}});
  }
  if (cross_group) {
    found.push_back({Signal::kCrossGroup, "cross_group",
                     fmt::format("same text in {} groups", config.cross_group_groups), 1.0, {}});
  }
  if (a->chitchat) found.push_back({Signal::kChitchat, "chitchat", "chitchat", 1.0, {}});
  if (!a->qr.empty()) found.push_back({Signal::kQr, "qr", Excerpt(a->qr, 200), 1.0, {}});
  // The strongest response wins; among equals, the first signal found.
  const Finding* best = nullptr;
  Response best_response = Response::kIgnore;
  for (const Finding& f : found) {
    Response r = policy.responses[static_cast<size_t>(f.signal)];
    if (f.signal == Signal::kText && a->model_score >= 0 && f.category != "custom") r = std::min(r, policy.text_with_model);
    if (r > best_response) {
      best = &f;
      best_response = r;
    }
  }
  if (best == nullptr) return Status::Ok();
  return Decide(ctx, config, *best, best_response);
}

Status HandleJoin(ModuleContext& ctx) {
  const auto& config = ctx.config<ModerationConfig>();
  const Member* member = ctx.member();
  if (!config.enabled || member == nullptr) return Status::Ok();
  auto listed = ctx.Find(BlacklistRow{.member = member->id});
  if (!listed) return Status::Ok();
  DecisionRow d = NewDecision(ctx, config, *member, StandingOf(ctx, member->id));
  d.signal = "blacklist";
  d.category = "blacklist";
  d.rule = fmt::format("blacklisted by decision #{}", listed->decision);
  d.quotes = "[]";
  d.score = 1;
  d.actions = "remove";
  if (!config.dry_run) {
    ctx.Act(PlatformAction(ctx, ActionType::kRemoveMember,
                           fmt::format("moderation decision #{}: blacklisted member rejoined", d.id)),
            "blacklist");
  }
  ctx.Put(d);
  return Status::Ok();
}

Status HandleCommand(ModuleContext& ctx) {
  const Event& e = ctx.event();
  QZ_ASSIGN_OR_RETURN(const nlohmann::json payload, EventPayload(e));
  if (!payload.contains("decision") || !payload["decision"].is_number_integer()) {
    return Status::Invalid("a moderation command needs {\"decision\": <id>}", "payload");
  }
  const int64_t id = payload["decision"].get<int64_t>();
  const std::string who = StringAt(payload, "operator");
  auto found = ctx.Find(DecisionRow{.id = id});
  if (!found) return Status::Ok();  // the API checks existence; nothing to do
  DecisionRow d = std::move(*found);
  const std::string_view verb = std::string_view(e.command).substr(e.command.find('.') + 1);
  if (verb == "confirm") {
    if (d.verdict == "spam") return Status::Ok();
    d.verdict = "spam";
    d.operator_name = who;
    d.reviewed_at = e.time;
    ctx.Put(d);
    return Status::Ok();
  }
  if (verb != "undo") return Status::Invalid(fmt::format("unknown command '{}'", e.command), "command");
  if (d.status == "undone") return Status::Ok();  // undoing twice is a no-op
  const bool acted = d.status == "applied";
  d.status = "undone";
  d.verdict = "not_spam";
  d.operator_name = who;
  d.reviewed_at = e.time;
  ctx.Put(d);
  if (!acted) return Status::Ok();
  if (auto standing = ctx.Find(StandingRow{.member = d.member_id}); standing && standing->strikes > 0 &&
      d.actions.find("delete") != std::string::npos && d.signal != "blacklist") {
    --standing->strikes;
    ctx.Put(*standing);
  }
  const std::pair<std::string, std::string> member_ref = SplitRef(d.member);
  const std::string& platform = member_ref.first;
  const std::string& member = member_ref.second;
  const std::string group = SplitRef(d.group).second;
  auto undo = [&](ActionType type) {
    Action a;
    a.type = type;
    a.platform = platform;
    a.group = group;
    a.member = member;
    a.evidence = fmt::format("moderation decision #{} undone by {}", d.id, who.empty() ? "an operator" : who);
    ctx.Act(std::move(a), "undo");
  };
  if (d.actions.find("mute:") != std::string::npos) undo(ActionType::kUnmute);
  if (d.actions.find("remove") != std::string::npos) {
    undo(ActionType::kUnban);
    if (auto listed = ctx.Find(BlacklistRow{.member = d.member_id})) {
      ctx.Erase(*listed);
      ctx.Act(BlacklistTag(platform, member, /*remove=*/true), "undo");
    }
  }
  return Status::Ok();
}

}  // namespace qz::moderation
