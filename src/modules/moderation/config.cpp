#include "modules/moderation/config.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text/normalize.hpp"
#include "core/time.hpp"
#include "playbook/section.hpp"

namespace qz::moderation {
namespace {

constexpr std::array<std::string_view, kSignalCount> kSignalNames = {
    "text", "model", "kind", "flood", "cross_group", "mentions", "chitchat", "qr"};
constexpr std::array<std::string_view, 5> kResponseNames = {"ignore", "review", "nudge", "delete",
                                                            "strike"};
constexpr std::array<std::string_view, 6> kPolicyKeys = {"default", "interest", "core_user",
                                                         "learning", "conversion", "industry"};

// Every group type starts from this: every signal strikes except chit-chat, no kind forbidden.
GroupPolicy DefaultPolicy() {
  GroupPolicy p;
  p.responses.fill(Response::kStrike);
  p.responses[static_cast<size_t>(Signal::kChitchat)] = Response::kIgnore;
  return p;
}

std::vector<Step> DefaultLadder() {
  return {Step{.warn = true}, Step{.warn = true, .mute_s = 3600},
          Step{.warn = true, .mute_s = 86400}, Step{.remove = true}};
}

// "warn", "mute 1h", "warn+mute 24h", "remove".
bool ParseStep(std::string_view text, Step& step, std::string& why) {
  step = Step{};
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t plus = text.find('+', i);
    if (plus == std::string_view::npos) plus = text.size();
    std::string_view part = text.substr(i, plus - i);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part == "warn") {
      step.warn = true;
    } else if (part == "remove") {
      step.remove = true;
    } else if (part.starts_with("mute ")) {
      auto d = ParseDurationSeconds(part.substr(5));
      if (!d.ok()) {
        why = d.status().message();
        return false;
      }
      step.mute_s = *d;
    } else {
      why = fmt::format("'{}' is not a step: write warn, mute <duration>, remove, joined with +", part);
      return false;
    }
    any = true;
    i = plus + 1;
  }
  if (!any) why = "an empty step";
  return any;
}

void ReadPolicy(TableReader& r, GroupPolicy& p) {
  std::vector<std::string> kinds;
  if (r.StringList("forbid_kinds", kinds)) {
    p.forbid_kinds.clear();
    for (const std::string& k : kinds) {
      auto kind = ParseMessageKind(k);
      if (!kind || *kind == MessageKind::kText) {
        r.Invalid("forbid_kinds", fmt::format("'{}' is not a message kind that can be forbidden "
                                              "(image, link, file, card, miniprogram, voice, video, redpacket, other)", k));
        continue;
      }
      p.forbid_kinds.push_back(*kind);
    }
  }
  {
    std::string name;
    if (r.String("text_with_model", name)) {
      auto it = std::find(kResponseNames.begin(), kResponseNames.end(), name);
      if (it == kResponseNames.end()) {
        r.Invalid("text_with_model", fmt::format("'{}' is not a response: ignore, review, nudge, delete or strike", name));
      } else {
        p.text_with_model = static_cast<Response>(it - kResponseNames.begin());
      }
    }
  }
  for (size_t s = 0; s < kSignalCount; ++s) {
    std::string name;
    if (!r.String(kSignalNames[s], name)) continue;
    auto it = std::find(kResponseNames.begin(), kResponseNames.end(), name);
    if (it == kResponseNames.end()) {
      r.Invalid(kSignalNames[s], fmt::format("'{}' is not a response: ignore, review, nudge, delete or strike", name));
      continue;
    }
    p.responses[s] = static_cast<Response>(it - kResponseNames.begin());
  }
}

}  // namespace

std::string_view SignalName(Signal s) { return kSignalNames[static_cast<size_t>(s)]; }
std::string_view ResponseName(Response r) { return kResponseNames[static_cast<size_t>(r)]; }

std::string Step::Describe() const {
  std::string out;
  auto add = [&](std::string part) { out += (out.empty() ? "" : "+") + part; };
  if (warn) add("warn");
  if (mute_s > 0) add(fmt::format("mute {}s", mute_s));
  if (remove) add("remove");
  return out;
}

bool ModerationConfig::Exempt(std::string_view platform, std::string_view member) const {
  for (const std::string& ref : exempt_members) {
    if (ref.size() == platform.size() + 1 + member.size() && ref.starts_with(platform) &&
        ref[platform.size()] == ':' && std::string_view(ref).substr(platform.size() + 1) == member) {
      return true;
    }
  }
  return false;
}

std::shared_ptr<const SectionConfig> ParseModerationSection(const toml::node* node,
                                                            ConfigProblems& problems) {
  auto config = std::make_shared<ModerationConfig>();
  config->ladder = DefaultLadder();
  config->policies.fill(DefaultPolicy());
  RuleOptions options;
  bool model_threshold_set = false;
  const auto finish = [&]() -> std::shared_ptr<const SectionConfig> {
    auto rules = RuleSet::Build(options);
    if (!rules.ok()) {
      problems.Report(node == nullptr ? 0 : node->source().begin.line, "moderation",
                      std::string(rules.status().message()));
      // Keep a usable config for the caller; a playbook with problems is refused anyway.
      auto builtin = RuleSet::BuiltinOnly();
      if (builtin.ok()) config->rules = *builtin;
      return config;
    }
    config->rules = *rules;
    for (const std::string& w : config->appeal_words) {
      std::string n = text::Normalizer::Default().Normalize(w).text;
      if (!n.empty()) config->normalized_appeal_words.push_back(std::move(n));
    }
    if (config->rules->has_model() && !model_threshold_set) {
      config->model_threshold = config->rules->model_threshold();
    }
    return config;
  };
  if (node == nullptr) return finish();
  const toml::table* table = ExpectTable(*node, "moderation", "a table ([moderation])", problems);
  if (table == nullptr) return finish();
  TableReader r(*table, "moderation", problems);
  config->enabled = true;  // the section's presence means "on" unless it says otherwise
  r.Bool("enabled", config->enabled);
  r.Bool("dry_run", config->dry_run);
  r.Double("threshold", config->threshold, 0.1, 100);
  r.StringList("categories", options.categories);
  for (const std::string& c : options.categories) {
    static constexpr std::array<std::string_view, 9> kKnown = {
        "ads", "fraud", "gambling", "porn", "abuse", "contact", "illegal_url", "url", "invite"};
    if (std::find(kKnown.begin(), kKnown.end(), c) == kKnown.end()) {
      r.Invalid("categories", fmt::format("unknown category '{}' (ads, fraud, gambling, porn, abuse, contact, illegal_url, url, invite)", c));
    }
  }
  if (r.StringList("extra_words", options.extra_words) && options.extra_words.size() > 10000) {
    r.Invalid("extra_words", "at most 10000 words");
  }
  r.StringList("allow_domains", options.allow_domains);
  r.String("model", options.model_path);
  config->model_path = options.model_path;
  model_threshold_set = r.Double("model_threshold", config->model_threshold, 0.0, 1.0);
  std::vector<std::string> roles;
  if (r.StringList("exempt_roles", roles)) {
    config->exempt_roles.clear();
    for (const std::string& name : roles) {
      auto role = ParseRole(name);
      if (!role) {
        r.Invalid("exempt_roles", fmt::format("unknown role '{}' (member, assistant, admin, owner)", name));
      } else {
        config->exempt_roles.push_back(*role);
      }
    }
  }
  r.StringList("exempt_members", config->exempt_members);
  for (const std::string& ref : config->exempt_members) {
    if (ref.find(':') == std::string::npos) {
      r.Invalid("exempt_members", fmt::format("'{}' is not \"<platform>:<member id>\"", ref));
    }
  }
  r.Int("exempt_min_points", config->exempt_min_points, 0, INT64_MAX);
  std::vector<std::string> ladder;
  if (r.StringList("ladder", ladder)) {
    if (ladder.empty() || ladder.size() > 10) r.Invalid("ladder", "needs 1 to 10 steps");
    std::vector<Step> steps;
    for (size_t i = 0; i < ladder.size(); ++i) {
      Step step;
      std::string why;
      if (!ParseStep(ladder[i], step, why)) {
        r.Invalid("ladder", fmt::format("step {}: {}", i + 1, why));
      }
      steps.push_back(step);
    }
    if (!steps.empty()) config->ladder = std::move(steps);
  }
  ReadDuration(r, "strike_decay", config->strike_decay_s);
  if (const toml::table* t = r.Table("flood")) {
    TableReader f(*t, r.PathOf("flood"), problems);
    f.Int("messages", config->flood_messages, 0, 1000);
    ReadDuration(f, "window", config->flood_window_s);
    f.Done();
  }
  if (const toml::table* t = r.Table("cross_group")) {
    TableReader c(*t, r.PathOf("cross_group"), problems);
    c.Int("groups", config->cross_group_groups, 0, 1000);
    ReadDuration(c, "window", config->cross_group_window_s);
    c.Int("min_chars", config->cross_group_min_chars, 1, 10000);
    c.Done();
  }
  if (const toml::table* t = r.Table("newcomer")) {
    TableReader n(*t, r.PathOf("newcomer"), problems);
    int64_t days_s = config->newcomer_days * 86400;
    ReadDuration(n, "period", days_s);
    config->newcomer_days = std::max<int64_t>(1, days_s / 86400);
    n.Int("messages", config->newcomer_messages, 0, 10000);
    n.Double("factor", config->newcomer_factor, 1.0, 10.0);
    n.Bool("links", config->newcomer_links);
    n.Done();
  }
  r.Int("mass_mentions", config->mass_mentions, 0, 10000);
  ReadDuration(r, "nudge_interval", config->nudge_interval_s);
  r.StringList("appeal_words", config->appeal_words);
  // [moderation.default] applies to every group type; [moderation.<type>] then overrides it.
  GroupPolicy base = DefaultPolicy();
  if (const toml::table* t = r.Table("default")) {
    TableReader p(*t, r.PathOf("default"), problems);
    ReadPolicy(p, base);
    p.Done();
  }
  config->policies.fill(base);
  for (size_t i = 1; i < kPolicyKeys.size(); ++i) {
    if (const toml::table* t = r.Table(kPolicyKeys[i])) {
      TableReader p(*t, r.PathOf(kPolicyKeys[i]), problems);
      ReadPolicy(p, config->policies[i]);
      p.Done();
    }
  }
  r.Done();
  return finish();
}

}  // namespace qz::moderation
