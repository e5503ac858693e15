#include "core/text/matcher.hpp"

#include <fmt/format.h>
#include <hs/hs.h>

#include <algorithm>
#include <atomic>

namespace qz::text {
namespace {

constexpr size_t kMaxScan = 1 << 20;

std::atomic<uint64_t> next_generation{1};

struct DbFree {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using Db = std::unique_ptr<hs_database_t, DbFree>;

// A literal as a regex of escaped bytes: Vectorscan has no literal API, and \xHH for every
// byte leaves nothing to interpret.
std::string EscapeLiteral(std::string_view literal) {
  std::string out;
  out.reserve(literal.size() * 4);
  for (unsigned char c : literal) out += fmt::format("\\x{:02x}", c);
  return out;
}

// Scratch space is per thread and grown for each database it meets; a database is known by a
// generation number that is never reused, so a freed one is never mistaken for a new one.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> fits;  // generations this scratch was grown for
  ~ThreadScratch() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
  hs_scratch_t* For(uint64_t generation, const hs_database_t* all, const std::vector<Db>& som) {
    if (std::find(fits.begin(), fits.end(), generation) != fits.end()) return scratch;
    if (hs_alloc_scratch(all, &scratch) != HS_SUCCESS) return nullptr;
    for (const Db& db : som) {
      if (db != nullptr && hs_alloc_scratch(db.get(), &scratch) != HS_SUCCESS) return nullptr;
    }
    if (fits.size() >= 64) fits.erase(fits.begin());
    fits.push_back(generation);
    return scratch;
  }
};

}  // namespace

struct MatcherDatabase::Impl {
  std::vector<Pattern> patterns;
  // Every pattern, each reporting its first match only and no start: one fast scan.
  Db all;
  // Each regex alone with its leftmost start, to locate the match `all` reported (null for a
  // literal, whose start is its end minus its length).
  std::vector<Db> som;
  uint64_t generation = 0;
  size_t bytes = 0;
};

MatcherDatabase::MatcherDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MatcherDatabase::~MatcherDatabase() = default;

Result<std::shared_ptr<const MatcherDatabase>> MatcherDatabase::Compile(std::span<const Pattern> patterns) {
  auto impl = std::make_unique<Impl>();
  impl->patterns.assign(patterns.begin(), patterns.end());
  impl->generation = next_generation.fetch_add(1);
  impl->som.resize(patterns.size());
  if (patterns.empty()) return std::shared_ptr<const MatcherDatabase>(new MatcherDatabase(std::move(impl)));
  std::vector<std::string> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < patterns.size(); ++i) {
    const Pattern& p = patterns[i];
    if (p.expression.empty()) return Status::Invalid(fmt::format("{}: an empty pattern", p.source));
    const bool literal = p.kind == Pattern::Kind::kLiteral;
    exprs.push_back(literal ? EscapeLiteral(p.expression) : p.expression);
    flags.push_back((p.caseless ? HS_FLAG_CASELESS : 0u) | HS_FLAG_SINGLEMATCH | (literal ? 0u : HS_FLAG_UTF8));
    ids.push_back(static_cast<unsigned>(i));
    if (literal) continue;
    hs_database_t* one = nullptr;
    hs_compile_error_t* err = nullptr;
    const unsigned f = (p.caseless ? HS_FLAG_CASELESS : 0u) | HS_FLAG_UTF8 | HS_FLAG_SOM_LEFTMOST;
    if (hs_compile(p.expression.c_str(), f, HS_MODE_BLOCK, nullptr, &one, &err) != HS_SUCCESS) {
      std::string why = err != nullptr && err->message != nullptr ? err->message : "unknown error";
      hs_free_compile_error(err);
      return Status::Invalid(fmt::format("{}: {}", p.source, why));
    }
    size_t size = 0;
    hs_database_size(one, &size);
    impl->bytes += size;
    impl->som[i].reset(one);
  }
  std::vector<const char*> ptrs;
  for (const auto& e : exprs) ptrs.push_back(e.c_str());
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
    std::string why = error != nullptr && error->message != nullptr ? error->message : "unknown error";
    const int at = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    const std::string source = at >= 0 && static_cast<size_t>(at) < patterns.size()
                                   ? patterns[static_cast<size_t>(at)].source
                                   : "patterns";
    return Status::Invalid(fmt::format("{}: {}", source, why));
  }
  size_t size = 0;
  hs_database_size(db, &size);
  impl->bytes += size;
  impl->all.reset(db);
  return std::shared_ptr<const MatcherDatabase>(new MatcherDatabase(std::move(impl)));
}

void MatcherDatabase::Scan(std::string_view text, std::vector<Match>& out) const {
  const Impl& impl = *impl_;
  if (impl.all == nullptr) return;
  if (text.size() > kMaxScan) text = text.substr(0, kMaxScan);
  thread_local ThreadScratch scratch;
  hs_scratch_t* s = scratch.For(impl.generation, impl.all.get(), impl.som);
  if (s == nullptr) return;
  // First the ends (one per matching pattern), then for each matched regex its leftmost start,
  // scanning that regex alone up to the end: a chat message matches few patterns, if any.
  thread_local std::vector<Match> ends;
  ends.clear();
  hs_scan(impl.all.get(), text.data(), static_cast<unsigned>(text.size()), 0, s,
          [](unsigned int id, unsigned long long, unsigned long long to, unsigned int, void* c) -> int {
            static_cast<std::vector<Match>*>(c)->push_back(Match{id, 0, static_cast<uint32_t>(to)});
            return 0;
          },
          &ends);
  for (Match m : ends) {
    const Pattern& p = impl.patterns[m.pattern];
    if (p.kind == Pattern::Kind::kLiteral) {
      m.begin = m.end - static_cast<uint32_t>(p.expression.size());
    } else {
      struct Locate {
        uint32_t end;
        uint32_t begin;
      } locate{m.end, m.end};
      hs_scan(impl.som[m.pattern].get(), text.data(), m.end, 0, s,
              [](unsigned int, unsigned long long from, unsigned long long to, unsigned int, void* c) -> int {
                auto* l = static_cast<Locate*>(c);
                if (to != l->end) return 0;
                l->begin = static_cast<uint32_t>(from);
                return 1;  // found: stop
              },
              &locate);
      m.begin = locate.begin;
    }
    out.push_back(m);
  }
}

const Pattern& MatcherDatabase::pattern(uint32_t index) const { return impl_->patterns[index]; }
size_t MatcherDatabase::size() const { return impl_->patterns.size(); }
size_t MatcherDatabase::memory_bytes() const { return impl_->bytes; }

}  // namespace qz::text
