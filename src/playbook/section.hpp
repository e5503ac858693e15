// qunzhu playbook: the seam through which a module owns a section of the playbook. A module
// registers its root key and a parser; ParsePlaybook parses the common sections first, then hands
// each registered section's TOML node (null when absent) to its parser with the common part, so a
// section can check group references, time zones and templates with the same line-numbered
// problems as everything else.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/toml_reader.hpp"
#include "playbook/playbook.hpp"

namespace qz {

// What a TEXT template may refer to.
enum class TextKind : uint8_t {
  kPlain,   // not a template (rules): braces are literal
  kMember,  // sent about a member: every variable
  kGroup,   // sent to a group without a member: every variable but {member.name}
};

// Reads a TEXT field (a string, taken as zh, or a table { zh, en }), checking each language as a
// template of `kind`; absent: an empty text. Problems go to the reader's ConfigProblems.
LocalizedText ReadText(TableReader& reader, std::string_view key, TextKind kind);

// Reads a duration string ("90s", "10m", "2h", "7d", core/time's ParseDurationSeconds) into
// `seconds`; absent: `seconds` unchanged. False when absent or malformed (reported). With
// `off_allowed`, "off" (or "0s") reads as 0: the feature the key times is turned off.
bool ReadDuration(TableReader& reader, std::string_view key, int64_t& seconds, bool off_allowed = false);

// The groups a section's entry targets, named by exactly one of `group` ("platform:id"),
// `groups` (a list of them, each once, or "all": every [[groups]] entry) or `group_type` (every
// [[groups]] entry of that type). Appends the "platform:id" refs in playbook order; returns true
// when they were given as the single `group`. Problems are reported through the reader.
bool ReadGroupTargets(TableReader& reader, const Playbook& common, std::vector<std::string>& out);

// A list of "platform:id" group refs at `key`, each once and not empty; appended to `out`.
// False when absent or bad (reported).
bool ReadGroupRefs(TableReader& reader, std::string_view key, std::vector<std::string>& out);

// An http:// or https:// URL of at most `max_bytes`, without spaces, control characters, quotes
// or angle brackets (it goes into Location headers and pages as it is).
bool IsHttpUrl(std::string_view url, size_t max_bytes);

struct PlaybookSection {
  std::string key;  // the root key, e.g. "welcome" or "schedules"
  // Parses the section. `node` is null when the playbook lacks it: return the defaults. Report
  // every problem (with its path and line) to `problems`; the return value is then ignored.
  // Must not return null. Called on any thread; must not keep references to `node`.
  std::function<std::shared_ptr<const SectionConfig>(const toml::node* node,
                                                     const Playbook& common,
                                                     ConfigProblems& problems)>
      parse;
};

// The sections a node's modules own, in registration order. Immutable once built.
class PlaybookSchema {
 public:
  // kAlreadyExists when `key` is a common section or registered already.
  Status Add(PlaybookSection section);
  const std::vector<PlaybookSection>& sections() const { return sections_; }

 private:
  std::vector<PlaybookSection> sections_;
};

}  // namespace qz
