// qunzhu core/text: one-pass multi-pattern matching (Vectorscan). Thousands of lexicon words and
// dozens of regular expressions are compiled once into an immutable database and a text is
// scanned once for all of them. Moderation compiles one database per playbook and swaps it in
// whole on reload; FAQ answers and keyword joining use the same class.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace qz::text {

struct Pattern {
  enum class Kind : uint8_t { kLiteral, kRegex };
  Kind kind = Kind::kLiteral;
  std::string expression;  // the literal text, or a PCRE-style regex (Vectorscan's subset)
  uint32_t tag = 0;        // the caller's meaning (a category, an FAQ entry…), handed back
  bool caseless = true;    // ASCII case-insensitive
  std::string source;      // where it came from ("ads.txt:12"), for errors
};

// One match: pattern index (into the span given to Compile) and the byte range in the scanned
// text. Each pattern reports its first match only (the one that ends first; a regex with its
// leftmost start): moderation and FAQ matching need to know what matched and to quote it, not
// every occurrence, and reporting every end of `https?://\S+` would cost the scan its speed.
// Matches come in order of `end`.
struct Match {
  uint32_t pattern = 0;
  uint32_t begin = 0;
  uint32_t end = 0;
};

// Immutable and thread-safe once compiled (scratch space is per thread, inside).
class MatcherDatabase {
 public:
  // Fails with the pattern's source and the compiler's reason for the first bad pattern. An
  // empty span compiles to a database that matches nothing.
  static Result<std::shared_ptr<const MatcherDatabase>> Compile(std::span<const Pattern> patterns);
  // Compile, through a cache of compiled databases in `cache_dir` (a file per pattern set,
  // named by a hash of the patterns, the Vectorscan version and this machine's platform): a
  // large fixed set (the built-in moderation lexicons: about 1 s to compile, 5 s under the
  // sanitizers) is compiled once per machine rather than at every start. A missing, damaged or
  // foreign file is compiled again and rewritten (atomically); a cache that cannot be written
  // only costs the compile. `cache_dir` empty: no cache.
  static Result<std::shared_ptr<const MatcherDatabase>> CompileCached(std::span<const Pattern> patterns,
                                                                       const std::string& cache_dir);

  ~MatcherDatabase();
  MatcherDatabase(const MatcherDatabase&) = delete;
  MatcherDatabase& operator=(const MatcherDatabase&) = delete;

  // Appends the matches in `text` to `out` (which it does not clear). Never fails on any input
  // bytes; a text longer than 1 MiB is scanned up to that length.
  void Scan(std::string_view text, std::vector<Match>& out) const;

  const Pattern& pattern(uint32_t index) const;
  size_t size() const;
  size_t memory_bytes() const;  // the compiled databases

 private:
  struct Impl;
  explicit MatcherDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where CompileCached keeps its files by default: $QZ_CACHE_DIR ("off": nowhere), else
// $XDG_CACHE_HOME/qunzhu, else $HOME/.cache/qunzhu; empty when none is set.
std::string DefaultMatcherCacheDir();

}  // namespace qz::text
