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
  hs_scratch_t* For(uint64_t generation, const hs_database_t* a, const hs_database_t* b) {
    if (std::find(fits.begin(), fits.end(), generation) != fits.end()) return scratch;
    for (const hs_database_t* db : {a, b}) {
      if (db != nullptr && hs_alloc_scratch(db, &scratch) != HS_SUCCESS) return nullptr;
    }
    if (fits.size() >= 64) fits.erase(fits.begin());
    fits.push_back(generation);
    return scratch;
  }
};

struct ScanContext {
  const std::vector<uint32_t>* literal_lengths;
  const std::vector<uint32_t>* ids;  // database id → pattern index
  std::vector<Match>* out;
  bool literal;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int, void* ctx) {
  auto* c = static_cast<ScanContext*>(ctx);
  const uint32_t pattern = (*c->ids)[id];
  const auto end = static_cast<uint32_t>(to);
  const uint32_t begin = c->literal ? end - (*c->literal_lengths)[id] : static_cast<uint32_t>(from);
  c->out->push_back(Match{pattern, begin, end});
  return 0;
}

}  // namespace

struct MatcherDatabase::Impl {
  std::vector<Pattern> patterns;
  Db literals;
  Db regexes;
  std::vector<uint32_t> literal_ids, regex_ids;
  std::vector<uint32_t> literal_lengths;
  uint64_t generation = 0;
  size_t bytes = 0;
};

MatcherDatabase::MatcherDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MatcherDatabase::~MatcherDatabase() = default;

Result<std::shared_ptr<const MatcherDatabase>> MatcherDatabase::Compile(std::span<const Pattern> patterns) {
  auto impl = std::make_unique<Impl>();
  impl->patterns.assign(patterns.begin(), patterns.end());
  impl->generation = next_generation.fetch_add(1);
  for (int pass = 0; pass < 2; ++pass) {
    const bool literal = pass == 0;
    std::vector<std::string> exprs;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < patterns.size(); ++i) {
      const Pattern& p = patterns[i];
      if ((p.kind == Pattern::Kind::kLiteral) != literal) continue;
      if (p.expression.empty()) {
        return Status::Invalid(fmt::format("{}: an empty pattern", p.source));
      }
      exprs.push_back(literal ? EscapeLiteral(p.expression) : p.expression);
      flags.push_back((p.caseless ? HS_FLAG_CASELESS : 0u) |
                      (literal ? 0u : HS_FLAG_SOM_LEFTMOST | HS_FLAG_UTF8));
      ids.push_back(static_cast<unsigned>(literal ? impl->literal_ids.size() : impl->regex_ids.size()));
      (literal ? impl->literal_ids : impl->regex_ids).push_back(static_cast<uint32_t>(i));
      if (literal) impl->literal_lengths.push_back(static_cast<uint32_t>(p.expression.size()));
    }
    if (exprs.empty()) continue;
    std::vector<const char*> ptrs;
    for (const auto& e : exprs) ptrs.push_back(e.c_str());
    hs_database_t* db = nullptr;
    hs_compile_error_t* error = nullptr;
    if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()),
                         HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
      std::string why = error != nullptr && error->message != nullptr ? error->message : "unknown error";
      const int at = error != nullptr ? error->expression : -1;
      hs_free_compile_error(error);
      const auto& table = literal ? impl->literal_ids : impl->regex_ids;
      const std::string source =
          at >= 0 && static_cast<size_t>(at) < table.size() ? patterns[table[static_cast<size_t>(at)]].source : "patterns";
      return Status::Invalid(fmt::format("{}: {}", source, why));
    }
    size_t size = 0;
    hs_database_size(db, &size);
    impl->bytes += size;
    (literal ? impl->literals : impl->regexes).reset(db);
  }
  return std::shared_ptr<const MatcherDatabase>(new MatcherDatabase(std::move(impl)));
}

void MatcherDatabase::Scan(std::string_view text, std::vector<Match>& out) const {
  const Impl& impl = *impl_;
  if (impl.literals == nullptr && impl.regexes == nullptr) return;
  if (text.size() > kMaxScan) text = text.substr(0, kMaxScan);
  thread_local ThreadScratch scratch;
  hs_scratch_t* s = scratch.For(impl.generation, impl.literals.get(), impl.regexes.get());
  if (s == nullptr) return;
  const size_t first = out.size();
  if (impl.literals != nullptr) {
    ScanContext ctx{&impl.literal_lengths, &impl.literal_ids, &out, true};
    hs_scan(impl.literals.get(), text.data(), static_cast<unsigned>(text.size()), 0, s, OnMatch, &ctx);
  }
  if (impl.regexes != nullptr) {
    ScanContext ctx{&impl.literal_lengths, &impl.regex_ids, &out, false};
    hs_scan(impl.regexes.get(), text.data(), static_cast<unsigned>(text.size()), 0, s, OnMatch, &ctx);
  }
  std::stable_sort(out.begin() + static_cast<ptrdiff_t>(first), out.end(),
                   [](const Match& a, const Match& b) { return a.end < b.end; });
}

const Pattern& MatcherDatabase::pattern(uint32_t index) const { return impl_->patterns[index]; }
size_t MatcherDatabase::size() const { return impl_->patterns.size(); }
size_t MatcherDatabase::memory_bytes() const { return impl_->bytes; }

}  // namespace qz::text
