// qunzhu core: typed reading of TOML configuration (playbooks, playbook sections of modules, the
// node config, adapter sections) with every problem reported by key path and line, and unknown
// keys rejected. One document collects its problems in a ConfigProblems; each table is read
// through a TableReader that remembers which keys were read, so Done() can name the rest.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "core/text/utf8.hpp"

namespace qz {

// The problems found in one document, in document order when turned into a Status.
// Thread-compatible.
class ConfigProblems {
 public:
  explicit ConfigProblems(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  void Report(uint32_t line, std::string path, std::string what);  // line 0: unknown
  void Report(const toml::node& at, std::string path, std::string what) {
    Report(at.source().begin.line, std::move(path), std::move(what));
  }
  bool empty() const { return problems_.empty(); }
  size_t size() const { return problems_.size(); }

  // kInvalidArgument whose message has one line per problem, sorted by line,
  // "<source>:<line>: <path>: <what>" (at most 20 lines, then "… and N more"), and whose field
  // is the first problem's path. Ok when there is none.
  Status ToStatus() const;

 private:
  struct Problem {
    uint32_t line = 0;
    std::string path;
    std::string what;
  };
  std::string source_;
  std::vector<Problem> problems_;
};

// "a string", "an integer"… for messages.
std::string_view TomlTypeName(toml::node_type type);
// `path` + `.key` (a key that is not bare is quoted), or `[i]`.
std::string JoinPath(std::string_view path, std::string_view key);
std::string IndexPath(std::string_view path, size_t index);

// Reads one table. Every getter marks its key as known; absent keys leave `out` unchanged and
// return false; a value of the wrong type or out of range is reported (with the key's path and
// line) and also returns false. Done() reports every key that no getter asked for.
// The table and the problems must outlive the reader.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, ConfigProblems& problems)
      : table_(table), path_(std::move(path)), problems_(problems) {}

  bool String(std::string_view key, std::string& out);
  // Inclusive bounds.
  bool Int(std::string_view key, int64_t& out, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  bool Int(std::string_view key, int& out, int min, int max);
  bool Bool(std::string_view key, bool& out);
  // Integers are accepted too.
  bool Double(std::string_view key, double& out, double min, double max);
  bool StringList(std::string_view key, std::vector<std::string>& out);
  // The sub-table, array or node at `key` (null when absent; a wrong type is reported for the
  // first two).
  const toml::table* Table(std::string_view key);
  const toml::array* Array(std::string_view key);
  const toml::node* Node(std::string_view key);
  // Reports `key` as required when absent.
  bool Has(std::string_view key) const { return table_.contains(key); }
  void Require(std::string_view key, std::string_view what);

  // Reports a problem at `key` (at its line when present, else the table's).
  void Invalid(std::string_view key, std::string what);
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }
  const std::string& path() const { return path_; }
  const toml::table& table() const { return table_; }
  ConfigProblems& problems() { return problems_; }

  // Marks keys as known without reading them (read by someone else).
  void Skip(std::string_view key) { known_.emplace_back(key); }
  // Reports each key of the table that no getter asked for, naming the expected ones.
  void Done();

 private:
  const toml::node* Get(std::string_view key);
  void WrongType(const toml::node& node, std::string_view key, std::string_view expected);

  const toml::table& table_;
  std::string path_;
  ConfigProblems& problems_;
  std::vector<std::string> known_;
};

// `node` as a table (or array), else reports "expected <what>, got …" at `path` and returns null.
// `what` names the expected form for the reader, e.g. "a table ([welcome])".
const toml::table* ExpectTable(const toml::node& node, std::string_view path,
                               std::string_view what, ConfigProblems& problems);
const toml::array* ExpectArray(const toml::node& node, std::string_view path,
                               std::string_view what, ConfigProblems& problems);

// Parses a TOML document of at most `max_bytes`; a syntax error is a Status
// "<source>:<line>:<column>: <what>" (no field). Never throws.
Result<toml::table> ParseToml(std::string_view text, std::string_view source, size_t max_bytes);

}  // namespace qz
