// qunzhu playbook: a community's behaviour as configuration (TOML): rules, templates, welcome,
// schedules; later issues add sections. Owns parsing, validation (errors name the key path),
// and rendering message templates with variables in Chinese and English.
//
// The TOML shape (docs/playbooks.md is the full reference; playbooks/ holds presets):
//
//   [community]                       # required
//   slug = "camp"                     # required, [a-z0-9_-]{1,64}
//   name = "7天成长营"                 # default: the slug
//   time_zone = "Asia/Shanghai"       # "UTC" or an IANA Area/Location name (shape checked only)
//   language = "zh"                   # zh | en (default zh)
//   rules = "1. 不发广告…"              # TEXT, plain (no variables)
//
//   [[groups]]                        # any number
//   platform = "sandbox"              # required, [a-z0-9_-]{1,32}
//   id = "camp-1"                     # required, 1..256 bytes
//   name = "7天成长营·1群"
//   type = "learning"                 # unspecified|interest|core_user|learning|conversion|industry
//   capacity = 500                    # 1..100000 (default 500)
//   rules = { zh = "…", en = "…" }    # TEXT, overrides the community's rules in this group
//
//   [welcome]                         # absent: disabled
//   enabled = true                    # default true when the section is present
//   text = "欢迎 {member.name}…"       # TEXT template, required when enabled
//
//   [[schedules]]                     # any number
//   name = "morning"                  # required, unique, [A-Za-z0-9_.-]{1,64}
//   rule = "daily 06:20"              # required; first word daily|weekly|cron|every
//   group = "sandbox:camp-1"          # required, "platform:id"
//   text = "早安！今天是 {date}"         # TEXT template (no {member.name}), required
//
// TEXT is a string (taken as zh) or a table { zh = "…", en = "…" }. A template may use the
// variables of kTemplateVariables as {name}; "{{" and "}}" are literal braces; any other brace
// is an error. Unknown keys and wrong types are errors. Array indices in key paths are 0-based
// ("groups[0].capacity").
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "model/entities.hpp"

namespace qz {

// A text in the community's languages. Render picks `zh` or `en` by the playbook's language,
// falling back to the other when one is empty.
struct LocalizedText {
  std::string zh;
  std::string en;
  bool empty() const { return zh.empty() && en.empty(); }
};

enum class Language : uint8_t { kZh, kEn };

struct GroupSettings {
  std::string platform;
  std::string id;  // external group id
  std::string name;
  GroupType type = GroupType::kUnspecified;
  int capacity = kDefaultGroupCapacity;
  LocalizedText rules;  // overrides the community's rules for this group
};

struct WelcomeSettings {
  bool enabled = false;
  LocalizedText text;  // variables: see kTemplateVariables
};

// Scheduled content: `text` sent to `group` ("platform:id") by `rule` (a recurrence, see
// engine/recurrence.hpp) in the community's time zone.
struct ScheduleSettings {
  std::string name;  // unique within the playbook; the timer key is "schedule:<name>"
  std::string rule;
  std::string group;
  LocalizedText text;
};

struct Playbook {
  std::string community;  // slug; required
  std::string name;
  std::string time_zone{kDefaultTimeZone};
  Language language = Language::kZh;
  LocalizedText rules;  // the group rules (群规), quoted by welcome messages and warnings
  std::vector<GroupSettings> groups;
  WelcomeSettings welcome;
  std::vector<ScheduleSettings> schedules;

  // The settings of a group, or null when the playbook does not name it.
  const GroupSettings* FindGroup(std::string_view platform, std::string_view id) const;
  // The rules that apply in a group: its own, else the community's.
  const LocalizedText& RulesFor(std::string_view platform, std::string_view id) const;
};

// Variables a template may use; any other {name} is a validation error at load time.
// Schedules have no member, so {member.name} is an error in a schedule's text.
inline constexpr std::array<std::string_view, 6> kTemplateVariables = {
    "member.name", "group.name", "group.rules", "community.name", "date", "time"};

struct TemplateVars {
  std::string member_name;
  std::string group_name;
  std::string group_rules;
  std::string community_name;
  std::string date;  // YYYY-MM-DD in the community's time zone
  std::string time;  // HH:MM
};

// Parses and validates a playbook. Unknown keys, wrong types, bad values and templates with
// unknown variables are errors whose field is the key path (e.g. "schedules[1].rule") and whose
// message includes the line. `source` names the file in messages.
// Every problem found is reported: the message has one line per problem, in document order,
// each "<source>:<line>: <key path>: <what>" (at most 20); the field is the first one's path.
// A TOML syntax error is reported alone as "<source>:<line>:<column>: <what>" with no field.
// Never throws.
Result<Playbook> ParsePlaybook(std::string_view toml, std::string_view source = "playbook");

// Renders `text` in `language` ("{{" and "}}" are literal braces). Substituted values are
// inserted verbatim (not expanded again). An unknown {name} or a stray brace, which parsing
// rejects, is left as is.
std::string Render(const LocalizedText& text, Language language, const TemplateVars& vars);

// The text in `language`, falling back to the other language when that one is empty; no
// template expansion (for plain texts such as rules, e.g. to fill TemplateVars::group_rules).
const std::string& Pick(const LocalizedText& text, Language language);

// A schedule's target "platform:id", split at the first ':'. Null unless the platform is
// [a-z0-9_-]{1,32} and the id is 1..256 bytes.
struct GroupRef {
  std::string_view platform;
  std::string_view id;
};
std::optional<GroupRef> ParseGroupRef(std::string_view ref);

// An immutable set of playbooks by community slug, swapped whole on reload.
class PlaybookSet {
 public:
  PlaybookSet() = default;
  explicit PlaybookSet(std::map<std::string, std::shared_ptr<const Playbook>, std::less<>> books)
      : books_(std::move(books)) {}
  // The community's playbook, or an empty default one.
  const Playbook& For(std::string_view community) const;
  std::shared_ptr<const PlaybookSet> With(std::shared_ptr<const Playbook> playbook) const;
  const std::map<std::string, std::shared_ptr<const Playbook>, std::less<>>& all() const {
    return books_;
  }

 private:
  std::map<std::string, std::shared_ptr<const Playbook>, std::less<>> books_;
};

}  // namespace qz
