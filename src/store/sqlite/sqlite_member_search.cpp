// The SQLite store's member search: ListMembers' `q` without a group, answered from the
// member_grams index (schema version 10) instead of a LIKE scan of every member. A group's
// members are few, so ListMembers keeps scanning those with LIKE (sqlite_read_model.cpp).
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {
namespace {

// A probe counts a gram's members up to this: enough to pick the rarest grams of a query, cheap
// for a common one (an index range of at most this many entries).
constexpr int kProbeLimit = 2048;

// `text` as SQLite's lower() writes it: ASCII letters only, as LIKE folds case.
std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The characters of `text` (UTF-8 code points, as substr() and length() count them), as views
// into it.
std::vector<std::string_view> Characters(const std::string& text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t n = 1;
    while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
    out.push_back(std::string_view(text).substr(i, n));
    i += n;
  }
  return out;
}

// The grams that narrow a search for `q`: the query itself when it is one or two characters
// (the index holds every such piece), else its distinct trigrams. LIKE's wildcards in `q` are
// characters like any other here (the index holds them as written).
std::vector<std::string> QueryGrams(const std::string& q) {
  const std::string folded = AsciiLower(q);
  const std::vector<std::string_view> chars = Characters(folded);
  if (chars.size() <= 2) return {folded};
  std::vector<std::string> grams;
  for (size_t i = 0; i + 3 <= chars.size(); ++i) {
    std::string gram;
    for (size_t k = i; k < i + 3; ++k) gram += chars[k];
    if (std::find(grams.begin(), grams.end(), gram) == grams.end())
      grams.push_back(std::move(gram));
  }
  return grams;
}

}  // namespace

Result<std::vector<std::string>> RarestGrams(ReadConn& conn, const std::string& q, size_t n) {
  std::vector<std::string> grams = QueryGrams(q);
  if (grams.size() == 1) return grams;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * probe, conn.Get(kProbeGram));
  std::vector<std::pair<int64_t, size_t>> counts;  // (members, index in grams)
  for (size_t i = 0; i < grams.size(); ++i) {
    const int rc = Binder(probe).Text(grams[i]).Int(kProbeLimit).rc();
    QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> members,
                        ReadOne<int64_t>(conn.db.get(), probe, rc, "probe member search",
                                         [](RowReader& r) { return r.Int(); }));
    // A trigram no member has: nothing can match (most misses end here).
    if (members.value_or(0) == 0) return std::vector<std::string>();
    counts.emplace_back(*members, i);
  }
  std::sort(counts.begin(), counts.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < counts.size() && i < n; ++i) out.push_back(grams[counts[i].second]);
  return out;
}

Result<std::vector<Member>> SqliteStore::SearchMembers(const MemberQuery& query, int limit) {
  std::vector<Member> out;
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  // Walk the rarest gram, require the next rarest.
  QZ_ASSIGN_OR_RETURN(const std::vector<std::string> grams, RarestGrams(conn, query.q, 2));
  if (grams.empty()) return out;
  size_t variant = 0;
  if (query.community_id) variant |= kByCommunity;
  if (grams.size() > 1) variant |= kSecondGram;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                      conn.Get(static_cast<ReadStmt>(kSearchMembers + variant)));
  // Parameters a variant does not use are bound anyway (numbered parameters up to ?6 exist).
  const std::string pattern = LikeContains(query.q);
  // Bound SQLITE_STATIC: every string here outlives the statement's use (no temporaries).
  const std::string_view second = grams.size() > 1 ? std::string_view(grams[1]) : "";
  Binder b(stmt);
  b.Text(grams[0]).Int(query.after_id).Text(second);
  b.Int(query.community_id.value_or(kNoId)).Text(pattern).Int(limit);
  out.reserve(static_cast<size_t>(limit));
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), stmt, b.rc(), "search members", ReadMember, out));
  return out;
}

}  // namespace qz::sqlite
