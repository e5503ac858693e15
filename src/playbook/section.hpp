// qunzhu playbook: the seam through which a module owns a section of the playbook. A module
// registers its root key and a parser; ParsePlaybook parses the common sections first, then hands
// each registered section's TOML node (null when absent) to its parser with the common part, so a
// section can check group references, time zones and templates with the same line-numbered
// problems as everything else.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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

// Reads an array of tables ([[x]]) entry by entry: at most `max` tables (more is reported and
// not read); each is handed to `read` with a TableReader at "<path>[i]" (call Done on it) and its
// index; an entry that is not a table is reported. `form` names the array for messages, e.g.
// "[[invites.live]]". The node form first checks that `node` (a section's root) is an array.
void ReadTables(const toml::array& array, std::string_view path, std::string_view form, size_t max,
                ConfigProblems& problems, const std::function<void(TableReader& entry, size_t index)>& read);
void ReadTables(const toml::node& node, std::string_view path, std::string_view form, size_t max,
                ConfigProblems& problems, const std::function<void(TableReader& entry, size_t index)>& read);

// The names of a section's entries seen so far (name → index, line), for CheckUniqueName.
using EntryNames = std::map<std::string, std::pair<size_t, uint32_t>, std::less<>>;
// Reports entry `index`'s `name` (read by `r` at key "name") when an earlier entry had it:
// "duplicate <what> name "x" (first used by <section>[i], line n)". Call it for valid names.
void CheckUniqueName(TableReader& r, std::string_view name, size_t index, std::string_view section,
                     std::string_view what, EntryNames& seen);

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
