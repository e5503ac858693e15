// qz_list_bench: what the console's lists and searches cost on a large store (issue 11's
// targets: p99 < 50 ms at 100,000 members). Run it on a data directory made with
// `qunzhu demo --members 100000 --days 90` (not modified, except that opening it with this
// build applies the schema's new migrations; the time that takes is reported).
//
//   search   ListMembers with a text (`GET /api/v1/members?q=`): the store's member_grams index
//            side by side with the LIKE scan it replaced (the old statement, prepared on its own
//            connection to the same file), for hits and misses of 1, 2 and 3+ characters, names
//            and platform ids; the two answers are compared on every query (a benchmark that
//            answers wrong fails).
//   lists    ListGroups and ListMembers pages as the console asks for them (sorted, limited,
//            with the cursor of page 2), read through the store as the API does.
//
// Each query runs --rounds times after one warm-up run; p50 and p99 are over those runs.
//
//   qz_list_bench --data DIR [--rounds 200] [--only search,lists]

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

using Steady = std::chrono::steady_clock;

[[noreturn]] void Die(std::string_view what, std::string_view why) {
  fmt::print(stderr, "{}: {}\n", what, why);
  std::exit(1);
}

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};

Percentiles Summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  return {at(0.50), at(0.99), ms.back()};
}

// Runs `fn` once to warm up, then `rounds` times; the latencies in milliseconds.
std::vector<double> Time(int rounds, const std::function<void()>& fn) {
  fn();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    const auto start = Steady::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
  }
  return ms;
}

// The LIKE scan ListMembers ran before schema version 10 (the statement of ListMembersSql with
// a text and no other filter), on a read-only connection of its own.
class LikeScan {
 public:
  explicit LikeScan(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      Die("open", sqlite3_errmsg(db_));
    }
    sqlite3_exec(db_, "PRAGMA cache_size = -65536", nullptr, nullptr, nullptr);  // as a reader's
    const char* sql =
        "SELECT m.id, m.display_name FROM members m WHERE m.id > ?1 AND (m.display_name LIKE ?2 "
        "ESCAPE '\\' OR EXISTS (SELECT 1 FROM identities i WHERE i.member_id = m.id AND "
        "i.external_id LIKE ?2 ESCAPE '\\')) ORDER BY m.id LIMIT ?3";
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      Die("prepare", sqlite3_errmsg(db_));
    }
  }
  ~LikeScan() {
    sqlite3_finalize(stmt_);
    sqlite3_close(db_);
  }
  LikeScan(const LikeScan&) = delete;
  LikeScan& operator=(const LikeScan&) = delete;

  std::vector<MemberId> Find(const std::string& q, int limit) {
    std::string pattern = "%";
    for (char c : q) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    sqlite3_bind_int64(stmt_, 1, 0);
    sqlite3_bind_text(stmt_, 2, pattern.data(), static_cast<int>(pattern.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt_, 3, limit);
    std::vector<MemberId> out;
    while (sqlite3_step(stmt_) == SQLITE_ROW) out.push_back(sqlite3_column_int64(stmt_, 0));
    sqlite3_reset(stmt_);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

int SchemaVersion(const std::string& path) {
  sqlite3* db = nullptr;
  int version = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      version = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return version;
}

struct SearchCase {
  const char* what;
  std::string q;
};

// Queries over the demo's names ("王芳-上海-销售", "助教Lily", "小涛") and QQ ids (8 digits).
const std::vector<SearchCase> kSearches = {
    {"hit, 1 char (CJK)", "小"},
    {"hit, 1 char (ASCII)", "l"},
    {"hit, 1 char (digit)", "7"},
    {"hit, 2 chars", "小明"},
    {"hit, 2 chars (mixed case)", "LI"},
    {"hit, 3+ chars", "上海-销售"},
    {"hit, 3+ chars (rare)", "王芳-上海"},
    {"hit, id digits", "1002"},
    {"hit, whole id", "10035299"},
    {"miss, 1 char", "龘"},
    {"miss, 2 chars", "zq"},
    {"miss, 3+ chars", "没有这个人"},
    {"miss, id", "99999999"},
    {"miss, common pieces", "上海-销售-学生"},
};

void RunSearch(Store& store, const std::string& db_path, int rounds) {
  LikeScan scan(db_path);
  fmt::print(
      "\nsearch: ListMembers(q, limit 50) — the index vs the LIKE scan it replaced ({} runs "
      "each)\n",
      rounds);
  fmt::print("{:<28} {:>6} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>7}\n", "query", "found",
             "index p50", "p99", "max", "scan p50", "p99", "max", "p99 x");
  double worst_index = 0;
  for (const SearchCase& c : kSearches) {
    std::vector<MemberId> indexed;
    auto index_ms = Time(rounds, [&] {
      auto r = store.ListMembers({.q = c.q, .limit = 50});
      if (!r.ok()) Die("ListMembers", r.status().ToString());
      indexed.clear();
      for (const Member& m : *r) indexed.push_back(m.id);
    });
    std::vector<MemberId> scanned;
    auto scan_ms = Time(rounds, [&] { scanned = scan.Find(c.q, 50); });
    if (indexed != scanned) {
      Die("search", fmt::format("q=\"{}\": the index found {} members, the scan {}", c.q,
                                indexed.size(), scanned.size()));
    }
    const Percentiles a = Summarise(index_ms), b = Summarise(scan_ms);
    worst_index = std::max(worst_index, a.p99);
    fmt::print(
        "{:<28} {:>6} | {:>9.3f} {:>9.3f} {:>9.3f} | {:>9.3f} {:>9.3f} {:>9.3f} | {:>7.1f}\n",
        fmt::format("{} \"{}\"", c.what, c.q), indexed.size(), a.p50, a.p99, a.max, b.p50, b.p99,
        b.max, b.p99 / std::max(a.p99, 1e-6));
  }
  fmt::print("search: worst index p99 {:.3f} ms (target < 50 ms): {}\n", worst_index,
             worst_index < 50 ? "met" : "NOT MET");
}

struct ListCase {
  std::string what;
  std::function<size_t()> run;  // one request; returns the rows it read
};

void RunLists(Store& store, int rounds) {
  // The largest group and community, for the filtered cases.
  auto groups =
      store.ListGroupsPage({.sort = GroupSort::kMemberCount, .descending = true, .limit = 1});
  if (!groups.ok() || groups->groups.empty()) Die("ListGroupsPage", "no groups");
  const Group big = groups->groups.front();
  // Page 2 of a sort: the cursor of page 1's last row.
  auto second_page = [&](MemberSort sort, bool descending) {
    auto first = store.ListMembers({.limit = 50, .sort = sort, .descending = descending});
    if (!first.ok() || first->empty()) Die("ListMembers", "no members");
    return MemberQuery{.limit = 50,
                       .sort = sort,
                       .descending = descending,
                       .after = MemberSortKey(first->back(), sort)};
  };
  auto members = [&](MemberQuery q) {
    return [&store, q] {
      auto r = store.ListMembers(q);
      if (!r.ok()) Die("ListMembers", r.status().ToString());
      return r->size();
    };
  };
  auto group_page = [&](GroupQuery q) {
    return [&store, q] {
      auto r = store.ListGroupsPage(q);
      if (!r.ok()) Die("ListGroupsPage", r.status().ToString());
      return r->groups.size();
    };
  };
  auto groups_page2 = store.ListGroupsPage({.sort = GroupSort::kMemberCount, .descending = true});
  if (!groups_page2.ok() || groups_page2->groups.empty()) Die("ListGroupsPage", "no groups");
  std::vector<ListCase> cases = {
      {"groups, by id (default)", group_page({})},
      {"groups, member_count desc",
       group_page({.sort = GroupSort::kMemberCount, .descending = true})},
      {"groups, member_count desc, page 2",
       group_page({.sort = GroupSort::kMemberCount,
                   .descending = true,
                   .after = GroupSortKey(groups_page2->groups.back(), GroupSort::kMemberCount)})},
      {"groups, name, 1000 a page", group_page({.sort = GroupSort::kName, .limit = 1000})},
      {"members, by id (default)", members({.limit = 50})},
      {"members, by id, page 1000", members({.limit = 50, .after_id = 50'000})},
      {"members, messages desc",
       members({.limit = 50, .sort = MemberSort::kMessages, .descending = true})},
      {"members, messages desc, page 2", members(second_page(MemberSort::kMessages, true))},
      {"members, display_name", members({.limit = 50, .sort = MemberSort::kDisplayName})},
      {"members, last_seen desc",
       members({.limit = 50, .sort = MemberSort::kLastSeen, .descending = true})},
      {"members, first_seen", members({.limit = 50, .sort = MemberSort::kFirstSeen})},
      {"members, community, last_message desc", members({.community_id = big.community_id,
                                                         .limit = 50,
                                                         .sort = MemberSort::kLastMessage,
                                                         .descending = true})},
      {fmt::format("members, group of {}, messages desc", big.member_count),
       members(
           {.group_id = big.id, .limit = 50, .sort = MemberSort::kMessages, .descending = true})},
      {"members, q=\"小\", messages desc",
       members({.q = "小", .limit = 50, .sort = MemberSort::kMessages, .descending = true})},
      {"members, q=\"上海-销售\", display_name",
       members({.q = "上海-销售", .limit = 50, .sort = MemberSort::kDisplayName})},
  };
  // The filters by tag (the most and the least used tag) and role, and a group's conversation.
  auto tags = store.ListTags(std::nullopt);
  if (!tags.ok()) Die("ListTags", tags.status().ToString());
  if (!tags->empty()) {
    const auto [least, most] = std::minmax_element(
        tags->begin(), tags->end(),
        [](const TagCount& a, const TagCount& b) { return a.members < b.members; });
    for (const TagCount* t : {&*most, &*least}) {
      cases.push_back({fmt::format("members, tag {} ({} members)", t->tag, t->members),
                       members({.tag = t->tag, .limit = 50})});
      cases.push_back({fmt::format("members, tag {}, messages desc", t->tag),
                       members({.tag = t->tag,
                                .limit = 50,
                                .sort = MemberSort::kMessages,
                                .descending = true})});
    }
  }
  cases.push_back({"tags, all, with counts", [&store] {
                     auto r = store.ListTags(std::nullopt);
                     if (!r.ok()) Die("ListTags", r.status().ToString());
                     return r->size();
                   }});
  cases.push_back({"members, role owner", members({.role = Role::kOwner, .limit = 50})});
  cases.push_back({"members, role admin, display_name",
                   members({.role = Role::kAdmin, .limit = 50, .sort = MemberSort::kDisplayName})});
  cases.push_back({"members, role member (no index)", members({.role = Role::kMember, .limit = 50})});
  cases.push_back({fmt::format("members, group of {}, role member", big.member_count),
                   members({.group_id = big.id, .role = Role::kMember, .limit = 50})});
  auto events = [&store, id = big.id](int64_t before) {
    return [&store, id, before] {
      auto r = store.GroupEvents(id, before, 50);
      if (!r.ok()) Die("GroupEvents", r.status().ToString());
      return r->size();
    };
  };
  int64_t page_20 = 0;  // the cursor of the 20th page of the big group's events
  for (int page = 0; page < 19; ++page) {
    auto r = store.GroupEvents(big.id, page_20, 50);
    if (!r.ok() || r->empty()) break;
    page_20 = r->back().seq;
  }
  cases.push_back({fmt::format("group events, {} messages, newest 50", big.messages), events(0)});
  cases.push_back({"group events, page 20", events(page_20)});
  cases.push_back({"group by id", [&store, id = big.id] {
                     auto r = store.GetGroup(id);
                     if (!r.ok()) Die("GetGroup", r.status().ToString());
                     return static_cast<size_t>(r->has_value());
                   }});
  fmt::print("\nlists: one page through the store, as the API reads it ({} runs each)\n", rounds);
  fmt::print("{:<44} {:>6} | {:>9} {:>9} {:>9}\n", "list", "rows", "p50 ms", "p99", "max");
  double worst = 0;
  for (const ListCase& c : cases) {
    size_t rows = 0;
    const Percentiles p = Summarise(Time(rounds, [&] { rows = c.run(); }));
    worst = std::max(worst, p.p99);
    fmt::print("{:<44} {:>6} | {:>9.3f} {:>9.3f} {:>9.3f}\n", c.what, rows, p.p50, p.p99, p.max);
  }
  fmt::print("lists: worst p99 {:.3f} ms (target < 50 ms): {}\n", worst,
             worst < 50 ? "met" : "NOT MET");
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) {
  using namespace qz;
  std::string dir;
  int rounds = 200;
  std::string only = "search,lists";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg, "needs a value");
      return argv[++i];
    };
    if (arg == "--data") {
      dir = value();
    } else if (arg == "--rounds") {
      rounds = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--only") {
      only = value();
    } else {
      Die(arg, "unknown option (--data DIR [--rounds N] [--only search,lists])");
    }
  }
  if (dir.empty()) Die("qz_list_bench", "--data DIR is required");
  const std::string path = dir + "/qunzhu.db";
  const int before = SchemaVersion(path);
  if (before < 0) Die(path, "cannot read the database");
  const auto open_start = Steady::now();
  auto store = OpenSqliteStore({.path = path, .sync = SyncMode::kNormal});
  if (!store.ok()) Die("open", store.status().ToString());
  const double open_s = std::chrono::duration<double>(Steady::now() - open_start).count();
  auto stats = (*store)->Stats();
  if (!stats.ok()) Die("stats", stats.status().ToString());
  fmt::print(
      "{}: {} members, {} groups, {} events; schema {} -> {} (open with migrations: {:.2f} s)\n",
      path, stats->members, stats->groups, stats->events, before, SqliteSchemaVersion(), open_s);
  if (only.find("search") != std::string::npos) RunSearch(**store, path, rounds);
  if (only.find("lists") != std::string::npos) RunLists(**store, rounds);
  return 0;
}
