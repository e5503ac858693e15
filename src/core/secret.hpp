// qunzhu core: secrets in configuration (platform tokens, webhook keys). A Secret never prints
// its content: it has no fmt formatter and no stream operator, so a log line or an error
// message cannot carry it by accident; code that needs the value calls reveal().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/toml_reader.hpp"

namespace qz {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  // The content, for the one place that sends it (an HTTP header, a signature key).
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  friend bool operator==(const Secret& a, const Secret& b) { return a.value_ == b.value_; }

 private:
  std::string value_;
};

// The largest secret file read: a token or key, never a document.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// Reads the secret at `key` of the reader's table, written as
//   key = { env = "NAME" }    the environment variable NAME (an error when unset or empty), or
//   key = { file = "/path" }  the file's content without its trailing newline (an error when it
//                             cannot be read, is empty or is larger than kMaxSecretFileBytes).
// A literal string is refused (secrets stay out of config files, which get copied and
// committed) with a message saying to use env or file. Problems go to the reader's
// ConfigProblems with the key path and line and never quote the secret. Returns true when
// `out` was set; absent key: false and nothing reported (use Require for a mandatory one).
bool ReadSecret(TableReader& reader, std::string_view key, Secret& out);

}  // namespace qz
