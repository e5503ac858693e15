// The SQLite store's EventLog: LoadState (in parallel for large states) and the event log's reads.
#include <fmt/format.h>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {
namespace {

// Loads a whole table in primary-key order; `count` (if any) sizes the vector exactly first.
template <typename T>
Status LoadTable(ReadConn& conn, std::optional<ReadStmt> count, ReadStmt all, std::string_view what,
                 T (*read)(RowReader&), std::vector<T>& out) {
  if (count) {
    auto rows = ReadInt(conn, *count, what);
    if (!rows.ok()) return rows.status();
    out.reserve(static_cast<size_t>(*rows));
  }
  auto stmt = conn.Get(all);
  if (!stmt.ok()) return stmt.status();
  return ReadAll(conn.db.get(), *stmt, SQLITE_OK, what, read, out);
}

// LoadState reads its tables in up to kLoadParts parts, on as many connections and threads.
constexpr size_t kLoadParts = 4;
// Below this many members the tables are read one after another on one connection.
constexpr int64_t kParallelLoadMembers = 20000;

// The module state, without the rows of the tables `skip` names: those are stepped over
// without being copied out of SQLite, and the vector is not sized for them.
Status LoadModuleState(ReadConn& conn, const std::function<bool(std::string_view)>& skip,
                       std::vector<ModuleStateEntry>& out) {
  constexpr std::string_view kWhat = "load module state";
  auto stmt = conn.Get(kAllModuleState);
  if (!stmt.ok()) return stmt.status();
  sqlite3* db = conn.db.get();
  ResetOnExit reset(*stmt);
  std::string table;  // rows come in (community, table, key) order: one skip() per run
  bool skipped = false;
  while (true) {
    const int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return sqlite::Error(db, rc, kWhat);
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(*stmt, 1));
    const std::string_view module(name == nullptr ? "" : name,
                                  static_cast<size_t>(sqlite3_column_bytes(*stmt, 1)));
    if (module != table) {
      table.assign(module);
      skipped = skip(table);
    }
    if (skipped) continue;
    RowReader row(*stmt);
    out.push_back(ReadModuleState(row));
    if (row.corrupt()) return CorruptRow(kWhat);
  }
}

Status LoadPart(size_t part, ReadConn& conn, StateSnapshot& state,
                const std::function<bool(std::string_view)>* skip) {
  switch (part) {
    case 0:
      return LoadTable(conn, kCountMembers, kAllMembers, "load members", ReadMember, state.members);
    case 1:
      return LoadTable(conn, kCountIdentities, kAllIdentities, "load identities", ReadIdentity,
                       state.identities);
    case 2:
      return LoadTable(conn, kCountMemberships, kAllMemberships, "load memberships", ReadMembership,
                       state.memberships);
    default:
      QZ_RETURN_IF_ERROR(LoadTable(conn, std::nullopt, kListCommunities, "load communities",
                                   ReadCommunity, state.communities));
      QZ_RETURN_IF_ERROR(
          LoadTable(conn, std::nullopt, kListGroups, "load groups", ReadGroup, state.groups));
      QZ_RETURN_IF_ERROR(
          LoadTable(conn, kCountNames, kAllNames, "load member names", ReadName, state.names));
      QZ_RETURN_IF_ERROR(
          LoadTable(conn, kCountTags, kAllTags, "load member tags", ReadTag, state.tags));
      if (skip != nullptr) return LoadModuleState(conn, *skip, state.module_state);
      return LoadTable(conn, kCountModuleState, kAllModuleState, "load module state",
                       ReadModuleState, state.module_state);
  }
}

}  // namespace

Result<StateSnapshot> SqliteStore::LoadState() { return Load(nullptr); }

Result<StateSnapshot> SqliteStore::LoadStateWithout(
    const std::function<bool(std::string_view module_table)>& skip) {
  return Load(&skip);
}

Result<StateSnapshot> SqliteStore::Load(const std::function<bool(std::string_view)>* skip) {
  // Part 0's connection decides the snapshot: its read transaction starts with max(seq).
  std::array<std::optional<ReadLease>, kLoadParts> leases;
  std::array<std::optional<ReadSnapshot>, kLoadParts> snapshots;  // ended before the leases
  auto begin_part = [&](size_t part) -> Result<int64_t> {
    auto lease = AcquireReader();
    if (!lease.ok()) return lease.status();
    leases[part].emplace(std::move(lease).value());
    snapshots[part].emplace(**leases[part]);
    QZ_RETURN_IF_ERROR(snapshots[part]->Begin());
    return ReadInt(**leases[part], kMaxSeq, "read last seq");
  };
  auto last_seq = begin_part(0);
  if (!last_seq.ok()) return last_seq.status();
  auto members = ReadInt(**leases[0], kMaxMemberId, "read member ids");
  if (!members.ok()) return members.status();

  // Large states load in parallel, each part in its own read transaction. The parts see the
  // same data because nothing they read commits meanwhile: LoadState runs on the writer thread,
  // the only one that writes state (the side connection writes only tokens, playbooks, outbox
  // delivery state and timer dues, none of which LoadState reads). The equal max(seq) of every
  // part double-checks that; should it differ, everything is read on part 0's connection.
  size_t parts = 1;
  if (*members >= kParallelLoadMembers && std::thread::hardware_concurrency() > 1) {
    parts = kLoadParts;
    for (size_t part = 1; part < kLoadParts && parts > 1; ++part) {
      auto seq = begin_part(part);
      if (!seq.ok() || *seq != *last_seq) parts = 1;
    }
  }

  StateSnapshot state;
  state.last_seq = *last_seq;
  std::array<Status, kLoadParts> results;
  if (parts == 1) {
    for (size_t part = 0; part < kLoadParts; ++part) {
      results[part] = LoadPart(part, **leases[0], state, skip);
      if (!results[part].ok()) return results[part];
    }
    return state;
  }
  std::vector<std::thread> threads;
  for (size_t part = 1; part < parts; ++part) {
    auto run = [&, part] { results[part] = LoadPart(part, **leases[part], state, skip); };
    try {
      threads.emplace_back(run);
    } catch (const std::system_error&) {
      run();  // no thread to be had: this part runs here instead
    }
  }
  results[0] = LoadPart(0, **leases[0], state, skip);
  for (std::thread& thread : threads) thread.join();
  for (const Status& result : results) {
    if (!result.ok()) return result;
  }
  return state;
}

Result<std::vector<StoredEvent>> SqliteStore::ScanEvents(int64_t after_seq, int limit) {
  std::vector<StoredEvent> out;
  if (limit <= 0) return out;
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(kScanEvents));
  const int rc = Binder(stmt).Int(after_seq).Int(limit).rc();
  out.reserve(static_cast<size_t>(std::min(limit, 1 << 16)));
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), stmt, rc, "scan events", ReadEvent, out));
  return out;
}

Result<std::optional<StoredEvent>> SqliteStore::FindEvent(const std::string& platform,
                                                          const std::string& source_id) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  auto stmt = conn.Get(kFindEvent);
  if (!stmt.ok()) return stmt.status();
  const int rc = Binder(*stmt).Text(platform).Text(source_id).rc();
  return ReadOne<StoredEvent>(conn.db.get(), *stmt, rc, "find event", ReadEvent);
}

}  // namespace qz::sqlite
