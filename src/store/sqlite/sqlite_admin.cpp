// The SQLite store's AdminStore: tokens and playbooks, written on the side connection.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {

Status SqliteStore::PutToken(const ApiToken& token) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kPutToken, "put token", [&](Binder& b) {
    b.Text(token.hash).Text(token.name).Int(token.created_at);
  });
  return changes.status();
}

Status SqliteStore::PutPlaybook(const StoredPlaybook& playbook) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kPutPlaybook, "put playbook", [&](Binder& b) {
    b.Text(playbook.community).Text(playbook.toml).Int(playbook.updated_at);
  });
  return changes.status();
}

Result<std::vector<StoredPlaybook>> SqliteStore::LoadPlaybooks() {
  return ReadRows(kLoadPlaybooks, "load playbooks", ReadPlaybook, BindNothing);
}

Result<bool> SqliteStore::HasToken(const std::string& hash) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(kHasToken));
  const int rc = Binder(stmt).Text(hash).rc();
  ResetOnExit reset(stmt);
  return sqlite::Step(conn.db.get(), stmt, "check token", rc);
}

}  // namespace qz::sqlite
