// qunzhu playbook: a community's behaviour as configuration (TOML). This layer owns the common
// sections ([community], [[groups]]), hands every other root section to the module that
// registered it (PlaybookSchema, playbook/section.hpp), and renders message templates with
// variables in Chinese and English.
//
// The common TOML shape (docs/playbooks.md is the full reference; playbooks/ holds presets):
//
//   [community]                       # required
//   slug = "camp"                     # required, [a-z0-9_-]{1,64}
//   name = "7天成长营"                 # default: the slug
//   time_zone = "Asia/Shanghai"       # "UTC" or an IANA name the system's tz database knows
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
//   start = "2026-03-08"              # the group's local start date (开课/开营), for [[timelines]]
//
// TEXT is a string (taken as zh) or a table { zh = "…", en = "…" }. A template may use the
// variables of kTemplateVariables as {name}; "{{" and "}}" are literal braces; any other brace
// is an error. Unknown keys (also unknown root sections) and wrong types are errors. Array
// indices in key paths are 0-based ("groups[0].capacity").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  int capacity = kDefaultGroupCapacity;  // kDefaultCoreUserCapacity for core_user groups
  LocalizedText rules;  // overrides the community's rules for this group
  std::string invite;   // the group's join link (http/https URL), handed out by invite codes
  std::string start;    // "YYYY-MM-DD" (local) the group starts (开课), or empty; SOP timelines
};

// The typed configuration of one module's section; each module derives its own.
class SectionConfig {
 public:
  virtual ~SectionConfig() = default;
};

class PlaybookSchema;

struct Playbook {
  std::string community;  // slug; required
  std::string name;
  std::string time_zone{kDefaultTimeZone};
  Language language = Language::kZh;
  LocalizedText rules;  // the group rules (群规), quoted by welcome messages and warnings
  // Quiet hours ("22:30-07:00" local): messages the bot posts on its own (send_message,
  // send_direct) wait until their end; replies, warnings and moderation go at once. Empty: none.
  std::string quiet_start;  // "HH:MM"
  std::string quiet_end;    // "HH:MM"
  std::vector<std::string> holidays;  // "YYYY-MM-DD", sorted: schedules do not post on them
  std::vector<GroupSettings> groups;
  // Every registered module section by its root key, parsed by its module (present whether or
  // not the TOML had the section: an absent one holds the module's defaults).
  std::map<std::string, std::shared_ptr<const SectionConfig>, std::less<>> sections;

  // The section registered under `key` as its module's config type, or null when the playbook
  // has none (a playbook not parsed with that section registered). T must be the type the
  // section's parser returns.
  template <typename T>
  const T* Section(std::string_view key) const {
    auto it = sections.find(key);
    return it == sections.end() ? nullptr : static_cast<const T*>(it->second.get());
  }

  // The settings of a group, or null when the playbook does not name it. Modules ask for every
  // message, so a parsed playbook answers from an index (IndexGroups), not by a scan of groups.
  const GroupSettings* FindGroup(std::string_view platform, std::string_view id) const;
  // Indexes `groups` for FindGroup; ParsePlaybook calls it. Call it again after changing
  // `groups`: until then FindGroup scans when the count differs from the index's, and may miss a
  // group whose platform or id was changed in place.
  void IndexGroups();
  // (hash of platform and id, index in groups), sorted.
  std::vector<std::pair<uint64_t, uint32_t>> group_index;
  // The rules that apply in a group: its own, else the community's.
  const LocalizedText& RulesFor(std::string_view platform, std::string_view id) const;
};

// Variables a template may use; any other {name} is a validation error at load time.
// A text sent to a group rather than to a member (TextKind::kGroup) may not use {member.name}.
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

// Parses and validates a playbook completely: the common sections here, every other root key by
// the section `schema` registered for it (an unregistered root key is an error). Unknown keys,
// wrong types, bad values, unknown time zones and templates with unknown variables are errors
// whose field is the key path (e.g. "schedules[1].rule") and whose message includes the line.
// A playbook that parses can be applied. `source` names the file in messages.
// Every problem found is reported: the message has one line per problem, in document order,
// each "<source>:<line>: <key path>: <what>" (at most 20); the field is the first one's path.
// A TOML syntax error is reported alone as "<source>:<line>:<column>: <what>" with no field.
// Never throws.
Result<Playbook> ParsePlaybook(std::string_view toml, std::string_view source,
                               const PlaybookSchema& schema);

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
