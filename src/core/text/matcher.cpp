#include "core/text/matcher.hpp"

#include <fmt/format.h>
#include <hs/hs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/hash.hpp"

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

namespace {

constexpr std::string_view kCacheMagic = "qunzhu-matcher-1\n";

// What a cached file's name is made of: the patterns as compiled, the library and the platform.
uint64_t CacheKey(std::span<const Pattern> patterns) {
  uint64_t h = Fnv1a64(hs_version());
  hs_platform_info_t platform{};
  if (hs_populate_platform(&platform) == HS_SUCCESS) {
    h = Fnv1a64(fmt::format("|{}|{}|{}", platform.tune, platform.cpu_features, sizeof(platform)), h);
  }
  for (const Pattern& p : patterns) {
    h = Fnv1a64(fmt::format("|{}{}:", p.kind == Pattern::Kind::kLiteral ? 'l' : 'r', p.caseless ? 'i' : 'c'), h);
    h = Fnv1a64(p.expression, h);
  }
  return h;
}

void PutBlob(std::string& out, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t size = 0;
  if (db != nullptr && hs_serialize_database(db, &bytes, &size) != HS_SUCCESS) size = 0;
  const uint64_t n = size;
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  if (size > 0) out.append(bytes, size);
  free(bytes);  // NOLINT(cppcoreguidelines-no-malloc): Vectorscan allocates it with malloc
}

// One blob from `in` (advanced past it): null for an empty one; false when damaged.
bool TakeBlob(std::string_view& in, Db& out, size_t& bytes) {
  uint64_t n = 0;
  if (in.size() < sizeof n) return false;
  std::memcpy(&n, in.data(), sizeof n);
  in.remove_prefix(sizeof n);
  if (n > in.size()) return false;
  if (n == 0) return true;
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(in.data(), n, &db) != HS_SUCCESS) return false;
  out.reset(db);
  size_t size = 0;
  hs_database_size(db, &size);
  bytes += size;
  in.remove_prefix(n);
  return true;
}

}  // namespace

std::string DefaultMatcherCacheDir() {
  if (const char* dir = std::getenv("QZ_CACHE_DIR")) {  // NOLINT(concurrency-mt-unsafe): read-only
    return std::string(dir) == "off" ? std::string() : std::string(dir);
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {  // NOLINT(concurrency-mt-unsafe)
    return std::string(xdg) + "/qunzhu";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {  // NOLINT(concurrency-mt-unsafe)
    return std::string(home) + "/.cache/qunzhu";
  }
  return {};
}

Result<std::shared_ptr<const MatcherDatabase>> MatcherDatabase::CompileCached(std::span<const Pattern> patterns,
                                                                              const std::string& cache_dir) {
  if (cache_dir.empty() || patterns.empty()) return Compile(patterns);
  namespace fs = std::filesystem;
  const fs::path file = fs::path(cache_dir) / fmt::format("matcher-{:016x}.hsdb", CacheKey(patterns));
  // A file: magic, FNV-1a of the rest, then the `all` database and one per pattern (empty for
  // a literal), each as a length and Vectorscan's own serialized form.
  if (std::ifstream in(file, std::ios::binary); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    std::string_view rest(data);
    uint64_t sum = 0;
    if (rest.starts_with(kCacheMagic) && rest.size() >= kCacheMagic.size() + sizeof sum) {
      rest.remove_prefix(kCacheMagic.size());
      std::memcpy(&sum, rest.data(), sizeof sum);
      rest.remove_prefix(sizeof sum);
      if (sum == Fnv1a64(rest)) {
        auto impl = std::make_unique<Impl>();
        impl->patterns.assign(patterns.begin(), patterns.end());
        impl->generation = next_generation.fetch_add(1);
        impl->som.resize(patterns.size());
        bool ok = TakeBlob(rest, impl->all, impl->bytes) && impl->all != nullptr;
        for (size_t i = 0; ok && i < patterns.size(); ++i) {
          ok = TakeBlob(rest, impl->som[i], impl->bytes) &&
               (impl->som[i] != nullptr) == (patterns[i].kind == Pattern::Kind::kRegex);
        }
        if (ok && rest.empty()) return std::shared_ptr<const MatcherDatabase>(new MatcherDatabase(std::move(impl)));
      }
    }
  }
  QZ_ASSIGN_OR_RETURN(std::shared_ptr<const MatcherDatabase> compiled, Compile(patterns));
  std::string body;
  PutBlob(body, compiled->impl_->all.get());
  for (const Db& db : compiled->impl_->som) PutBlob(body, db.get());
  const uint64_t sum = Fnv1a64(body);
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  const fs::path tmp = file.string() + fmt::format(".tmp{}.{}", getpid(), next_generation.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kCacheMagic;
    out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
    out << body;
    if (!out.good()) {
      fs::remove(tmp, ec);
      return compiled;
    }
  }
  fs::rename(tmp, file, ec);  // whole or not at all; another process may race us to the same bytes
  if (ec) fs::remove(tmp, ec);
  return compiled;
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
