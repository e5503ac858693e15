// qz_raw_sqlite_insert: the peer baseline for `qunzhu ingest` (docs/benchmarks.md, target 1:
// ingest >= 0.4x "a raw SQLite batched insert of the same rows").
//
// Reads an NDJSON events file and, BEFORE timing, turns every line into exactly the row our
// store appends to its event log: platform, source id, community/group/member as small integers
// (strings mapped to dense ids with hash maps, as the engine does), type, time in ms, the
// canonical JSON (EventToJson, the form the store writes) and the link to the member's previous
// event (its seq, as the writer sets it; the file is assumed to hold no duplicate ids). Then it times ONLY inserting those
// rows with the bare sqlite3 C API: one prepared statement (the same INSERT ... ON CONFLICT DO
// NOTHING our store uses), explicit transactions of --batch rows (default 8192, the engine's
// group-commit size), WAL journal, the same `synchronous` setting (--sync) and the same page
// cache size as our store's write connection, and SQLite's default auto-checkpoint (our store
// checkpoints on a background thread instead). Nothing else: no state, no other tables.
//
// Usage: qz_raw_sqlite_insert --db NEW.db [--sync full|normal] [--batch N] FILE.ndjson
// Prints: "raw sqlite insert: N rows in S s: X rows/s".
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/event.hpp"

namespace {

// COPIED from src/store/sqlite/sqlite_schema.cpp (the events table as of schema version 4: the
// table of kSchemaV1 with kSchemaV4's member_prev column and without the events_member_seq
// index) and src/store/sqlite/sqlite_store.cpp (the kAppendEvent statement). Keep them in sync: the
// baseline is only meaningful with the same table, the same indexes and the same statement.
constexpr const char* kEventsDdl = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  platform TEXT NOT NULL,
  source_id TEXT NOT NULL,
  community_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  member_id INTEGER NOT NULL,
  type INTEGER NOT NULL,
  time INTEGER NOT NULL,
  json TEXT NOT NULL,
  member_prev INTEGER NOT NULL DEFAULT 0,
  UNIQUE (platform, source_id)
);
)sql";
constexpr const char* kInsertSql =
    "INSERT INTO events (platform, source_id, community_id, group_id, member_id, type, time, "
    "json, member_prev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (platform, source_id) DO NOTHING";
// The store's write connection: SqliteOptions::cache_mib = 256.
constexpr int kCacheMib = 256;

struct Row {
  std::string platform;
  std::string source_id;
  int64_t community_id = 0;
  int64_t group_id = 0;
  int64_t member_id = 0;
  int type = 0;
  int64_t time = 0;
  std::string json;
  int64_t member_prev = 0;
};

// Dense ids from 1, in order of first appearance (as the engine assigns them).
class Interner {
 public:
  int64_t Id(const std::string& key) {
    auto [it, inserted] = ids_.try_emplace(key, static_cast<int64_t>(ids_.size()) + 1);
    return it->second;
  }
  size_t size() const { return ids_.size(); }

 private:
  std::unordered_map<std::string, int64_t> ids_;
};

double CpuSeconds(bool user) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const timeval& tv = user ? ru.ru_utime : ru.ru_stime;
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "qz_raw_sqlite_insert: %s\n", message.c_str());
  std::exit(1);
}

void Check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    Die(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = sql + ": " + (err ? err : "?");
    sqlite3_free(err);
    Die(message);
  }
}

void Usage() {
  std::fprintf(stderr,
               "usage: qz_raw_sqlite_insert --db NEW.db [--sync full|normal] [--batch N] "
               "FILE.ndjson\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db_path, file, sync = "full";
  size_t batch = 8192;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (arg == "--db") {
      db_path = value();
    } else if (arg == "--sync") {
      sync = value();
      if (sync != "full" && sync != "normal") Usage();
    } else if (arg == "--batch") {
      batch = std::strtoull(value().c_str(), nullptr, 10);
      if (batch == 0) Usage();
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      Usage();
    } else {
      file = arg;
    }
  }
  if (db_path.empty() || file.empty()) Usage();

  // ---- Untimed: read and pre-extract every row. ----
  std::ifstream in(file, std::ios::binary);
  if (!in) Die("cannot open " + file);
  std::vector<Row> rows;
  qz::EventParser parser;
  Interner communities, groups, members;
  std::unordered_map<int64_t, std::string> group_community;  // a group stays in its community
  std::unordered_map<int64_t, int64_t> last_seq;  // member id -> seq of its newest row
  std::string line;
  int64_t line_no = 0, bad = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = parser.Parse(line);
    if (!event.ok()) {
      if (++bad <= 5) std::fprintf(stderr, "line %lld: %s\n", static_cast<long long>(line_no),
                                   event.status().ToString().c_str());
      continue;
    }
    const qz::Event& e = *event;
    Row row;
    row.platform = e.platform;
    row.source_id = e.id;
    std::string community = e.community;
    if (!e.group.empty()) {
      row.group_id = groups.Id(e.platform + '\x1f' + e.group);
      auto [it, inserted] =
          group_community.try_emplace(row.group_id, community.empty() ? "default" : community);
      community = it->second;
    }
    if (community.empty()) community = "default";
    row.community_id = communities.Id(community);
    row.member_id = members.Id(community + '\x1f' + e.platform + '\x1f' + e.member);
    row.type = static_cast<int>(e.type);
    row.time = e.time;
    row.json = qz::EventToJson(e);
    int64_t& last = last_seq[row.member_id];
    row.member_prev = last;
    last = static_cast<int64_t>(rows.size()) + 1;  // seqs are 1, 2, ... in a fresh table
    rows.push_back(std::move(row));
  }
  std::fprintf(stderr,
               "raw sqlite insert: %zu rows pre-extracted (%lld unparsable lines skipped; %zu "
               "communities, %zu groups, %zu members)\n",
               rows.size(), static_cast<long long>(bad), communities.size(), groups.size(),
               members.size());

  // ---- Set up the database (untimed). ----
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE,
                      nullptr) != SQLITE_OK) {
    Die("cannot open " + db_path + ": " + (db ? sqlite3_errmsg(db) : "?"));
  }
  Exec(db, "PRAGMA journal_mode = WAL");
  Exec(db, sync == "normal" ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
  Exec(db, "PRAGMA cache_size = " + std::to_string(-1024 * kCacheMib));
  {
    int64_t count = 0;
    sqlite3_stmt* q = nullptr;
    Check(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &q, nullptr),
          "prepare");
    if (sqlite3_step(q) == SQLITE_ROW) count = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (count != 0) Die(db_path + " is not a new database");
  }
  Exec(db, kEventsDdl);
  sqlite3_stmt* insert = nullptr;
  Check(db, sqlite3_prepare_v3(db, kInsertSql, -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr),
        "prepare insert");

  // ---- Timed: only the inserts and commits. ----
  const double user0 = CpuSeconds(true), sys0 = CpuSeconds(false);
  const auto start = std::chrono::steady_clock::now();
  int64_t inserted = 0;
  for (size_t i = 0; i < rows.size(); i += batch) {
    Exec(db, "BEGIN");
    const size_t end = std::min(rows.size(), i + batch);
    for (size_t k = i; k < end; ++k) {
      const Row& r = rows[k];
      sqlite3_bind_text(insert, 1, r.platform.data(), static_cast<int>(r.platform.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, r.source_id.data(), static_cast<int>(r.source_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(insert, 3, r.community_id);
      sqlite3_bind_int64(insert, 4, r.group_id);
      sqlite3_bind_int64(insert, 5, r.member_id);
      sqlite3_bind_int(insert, 6, r.type);
      sqlite3_bind_int64(insert, 7, r.time);
      sqlite3_bind_text(insert, 8, r.json.data(), static_cast<int>(r.json.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert, 9, r.member_prev);
      const int rc = sqlite3_step(insert);
      if (rc != SQLITE_DONE) Die(std::string("insert: ") + sqlite3_errmsg(db));
      inserted += sqlite3_changes(db);
      sqlite3_reset(insert);
    }
    Exec(db, "COMMIT");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double user = CpuSeconds(true) - user0, sys = CpuSeconds(false) - sys0;

  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::fprintf(stderr, "raw sqlite insert: timed phase used %.2f s user + %.2f s system CPU\n",
               user, sys);
  std::printf("raw sqlite insert: %lld rows (%zu offered) in %.2f s: %.0f rows/s\n",
              static_cast<long long>(inserted), rows.size(), seconds,
              seconds > 0 ? static_cast<double>(rows.size()) / seconds : 0.0);
  return 0;
}
