// qunzhu moderation: the [moderation] playbook section, parsed and compiled. A config holds the
// compiled rule set (lexicons and patterns in one Vectorscan database, the community's own words,
// the model); it is immutable, so a reload swaps the whole thing at once and a message is always
// judged by one consistent rule set. docs/moderation.md documents every key.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/toml_reader.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "modules/moderation/rules.hpp"
#include "playbook/playbook.hpp"

namespace qz::moderation {

// What a signal leads to.
enum class Response : uint8_t {
  kIgnore,  // nothing (not even recorded)
  kReview,  // recorded, and an operator task to look at it
  kNudge,   // a gentle reminder of the rules; the message stays, no strike
  kDelete,  // deleted, no strike
  kStrike,  // deleted and a strike: the ladder decides the rest
};
std::string_view ResponseName(Response r);

// The signals moderation knows. Index into GroupPolicy::responses.
enum class Signal : uint8_t {
  kText,        // lexicons and patterns over the normalised text
  kModel,       // the trained classifier
  kKind,        // a message kind forbidden in this group type
  kFlood,       // too many messages too fast
  kCrossGroup,  // the same text in several groups
  kMentions,    // mass mentions
  kChitchat,    // off-topic chit-chat (only where a group type asks for it)
  kQr,          // a QR code in an image whose payload is a link or contact (event.qr)
};
inline constexpr size_t kSignalCount = 8;
std::string_view SignalName(Signal s);

// One rung of the escalation ladder, taken at the n-th strike.
struct Step {
  bool warn = false;        // a warning quoting the rule
  int64_t mute_s = 0;       // mute for this long
  bool remove = false;      // remove from the group and blacklist in the community
  std::string Describe() const;
};

struct GroupPolicy {
  std::vector<MessageKind> forbid_kinds;
  std::array<Response, kSignalCount> responses{};
  // The text signal's response when the playbook has a model: a model trained on the
  // community's own verdicts judges its chat better than generic word lists, so by default
  // their matches go to an operator instead of being deleted.
  Response text_with_model = Response::kReview;
};

struct ModerationConfig final : SectionConfig {
  bool enabled = false;  // no [moderation] section: off
  bool dry_run = false;
  double threshold = 1.0;  // score at which the text signal decides
  std::shared_ptr<const RuleSet> rules;  // never null once parsed
  std::string model_path;
  double model_threshold = 0.6;  // default: the threshold stored in the model
  // Exemptions.
  std::vector<Role> exempt_roles = {Role::kAssistant, Role::kAdmin, Role::kOwner};
  std::vector<std::string> exempt_members;  // "<platform>:<id>"
  int64_t exempt_min_points = 0;            // 0: off; members with at least this many points
  // Ladder and strikes.
  std::vector<Step> ladder;
  int64_t strike_decay_s = 30 * 86400;
  // Behaviour signals.
  int flood_messages = 8;  // 0: off
  int64_t flood_window_s = 10;
  int cross_group_groups = 3;  // 0: off
  int64_t cross_group_window_s = 600;
  int cross_group_min_chars = 12;
  int64_t newcomer_days = 1;
  int newcomer_messages = 3;
  double newcomer_factor = 2.0;  // text weights multiplied for newcomers
  bool newcomer_links = true;    // a newcomer's link (not allowlisted) is decisive
  int mass_mentions = 10;        // 0: off
  int64_t nudge_interval_s = 3600;
  std::vector<std::string> appeal_words = {"申诉", "appeal"};
  std::vector<std::string> normalized_appeal_words;  // as the analysis compares them
  // Policies by group type (index GroupType); unspecified is the default for the others.
  std::array<GroupPolicy, 6> policies;

  const GroupPolicy& PolicyFor(GroupType type) const { return policies[static_cast<size_t>(type)]; }
  bool Exempt(std::string_view platform, std::string_view member) const;
};

// Parses [moderation] (null node: the defaults, moderation off).
std::shared_ptr<const SectionConfig> ParseModerationSection(const toml::node* node,
                                                            ConfigProblems& problems);

}  // namespace qz::moderation
