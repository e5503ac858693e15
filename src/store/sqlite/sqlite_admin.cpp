// The SQLite store's AdminStore: tokens, accounts and their roles per community, sessions and
// playbooks, written on the side connection.
#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {

Status SqliteStore::PutToken(const ApiToken& token) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kPutToken, "put token", [&](Binder& b) { BindRow(b, token); });
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

Result<std::optional<ApiToken>> SqliteStore::FindToken(const std::string& hash) {
  return ReadRow(kFindToken, "find token", ReadToken, [&](Binder& b) { b.Text(hash); });
}

Result<std::vector<ApiToken>> SqliteStore::ListTokens() {
  return ReadRows(kListTokens, "list tokens", ReadToken, BindNothing);
}

Result<int64_t> SqliteStore::DeleteTokens(const std::string& name) {
  std::lock_guard lock(side_mu_);
  QZ_ASSIGN_OR_RETURN(const int changes,
                      SideWrite(kDeleteTokens, "delete tokens", [&](Binder& b) { b.Text(name); }));
  if (changes > 0) token_deletions_.fetch_add(1);
  return int64_t{changes};
}

Status SqliteStore::CreateAccount(const Account& account) {
  std::lock_guard lock(side_mu_);
  QZ_ASSIGN_OR_RETURN(const int changes, SideWrite(kCreateAccount, "create account", [&](Binder& b) {
                        BindRow(b, account);
                      }));
  if (changes == 0) {
    return Status(Code::kAlreadyExists, fmt::format("an account '{}' exists", account.name), "name");
  }
  return Status::Ok();
}

Status SqliteStore::UpdateAccount(const Account& account) {
  std::lock_guard lock(side_mu_);
  QZ_ASSIGN_OR_RETURN(const int changes, SideWrite(kUpdateAccount, "update account", [&](Binder& b) {
                        b.Text(account.name).Text(account.password_hash);
                        b.Int(static_cast<int64_t>(account.role)).Int(account.disabled ? 1 : 0);
                      }));
  if (changes == 0) return Status::NotFound(fmt::format("no account '{}'", account.name));
  return Status::Ok();
}

Result<std::optional<Account>> SqliteStore::GetAccount(const std::string& name) {
  return ReadRow(kGetAccount, "get account", ReadAccount, [&](Binder& b) { b.Text(name); });
}

Result<std::vector<Account>> SqliteStore::ListAccounts() {
  return ReadRows(kListAccounts, "list accounts", ReadAccount, BindNothing);
}

Result<CommunityRoles> SqliteStore::GetCommunityRoles(const std::string& account) {
  QZ_ASSIGN_OR_RETURN(const std::vector<CommunityRoleRow> rows,
                      ReadRows(kGetCommunityRoles, "get community roles", ReadCommunityRole,
                               [&](Binder& b) { b.Text(account); }));
  CommunityRoles out;
  for (const CommunityRoleRow& row : rows) out.emplace(row.community_id, row.role);
  return out;
}

Result<std::map<std::string, CommunityRoles>> SqliteStore::ListCommunityRoles() {
  QZ_ASSIGN_OR_RETURN(const std::vector<CommunityRoleRow> rows,
                      ReadRows(kListCommunityRoles, "list community roles", ReadCommunityRole,
                               BindNothing));
  std::map<std::string, CommunityRoles> out;
  for (const CommunityRoleRow& row : rows) out[row.account].emplace(row.community_id, row.role);
  return out;
}

Status SqliteStore::ChangeCommunityRoles(const std::string& account,
                                         const CommunityRoleChanges& changes) {
  std::lock_guard lock(side_mu_);
  QZ_ASSIGN_OR_RETURN(SideConn * side, Side());
  sqlite3* db = side->db.get();
  // One transaction: all the changes or none. IMMEDIATE takes the write lock up front, so the
  // account cannot go between the check and the writes.
  QZ_RETURN_IF_ERROR(sqlite::Exec(db, "BEGIN IMMEDIATE", "begin community role changes"));
  Status status = [&]() -> Status {
    sqlite3_stmt* exists = side->stmts[kAccountExists].get();
    {
      ResetOnExit reset(exists);
      QZ_ASSIGN_OR_RETURN(const bool found, sqlite::Step(db, exists, "find account",
                                                         Binder(exists).Text(account).rc()));
      if (!found) return Status::NotFound(fmt::format("no account '{}'", account));
    }
    for (const auto& [community, role] : changes) {
      sqlite3_stmt* stmt =
          side->stmts[role ? kPutCommunityRole : kDeleteCommunityRole].get();
      Binder b(stmt);
      b.Text(account).Int(community);
      if (role) b.Int(static_cast<int64_t>(*role));
      ResetOnExit reset(stmt);
      QZ_RETURN_IF_ERROR(sqlite::Step(db, stmt, "change community role", b.rc()).status());
    }
    return sqlite::Exec(db, "COMMIT", "commit community role changes");
  }();
  if (!status.ok()) {
    // Side() rolls back a transaction left open if this fails.
    (void)sqlite::Exec(db, "ROLLBACK", "roll back community role changes");
  }
  return status;
}

Status SqliteStore::PutSession(const Session& session) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kPutSession, "put session", [&](Binder& b) { BindRow(b, session); });
  return changes.status();
}

Result<std::optional<Session>> SqliteStore::GetSession(const std::string& hash) {
  return ReadRow(kGetSession, "get session", ReadSession, [&](Binder& b) { b.Text(hash); });
}

Status SqliteStore::DeleteSession(const std::string& hash) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kDeleteSession, "delete session", [&](Binder& b) { b.Text(hash); });
  return changes.status();
}

Result<int64_t> SqliteStore::DeleteAccountSessions(const std::string& account) {
  std::lock_guard lock(side_mu_);
  QZ_ASSIGN_OR_RETURN(const int changes,
                      SideWrite(kDeleteAccountSessions, "delete account sessions",
                                [&](Binder& b) { b.Text(account); }));
  return int64_t{changes};
}

Result<int64_t> SqliteStore::DeleteExpiredSessions(TimeMs now) {
  std::lock_guard lock(side_mu_);
  QZ_ASSIGN_OR_RETURN(const int changes,
                      SideWrite(kDeleteExpiredSessions, "delete expired sessions",
                                [&](Binder& b) { b.Int(now); }));
  return int64_t{changes};
}

}  // namespace qz::sqlite
