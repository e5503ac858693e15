// qunzhu store: the administration sub-seam. Owns API tokens, the console's accounts, their roles
// per community and their sessions, and the playbooks' source texts: small writes that commit on their own, outside the
// writer's transactions (a playbook can also be written inside one, StoreTxn::PutPlaybook).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/account.hpp"
#include "model/entities.hpp"

namespace qz {

struct StoredPlaybook {
  std::string community;  // slug
  std::string toml;       // the source text, as validated
  TimeMs updated_at = 0;
  friend bool operator==(const StoredPlaybook&, const StoredPlaybook&) = default;
};

struct ApiToken {
  std::string hash;  // SHA-256 hex of the secret; the secret itself is never stored
  std::string name;
  TimeMs created_at = 0;
  // What the token may do. Tokens from before roles existed (schema version 8) are owners.
  AccountRole role = AccountRole::kOwner;
  friend bool operator==(const ApiToken&, const ApiToken&) = default;
};

// A console account (model/account.hpp has the rules for names and roles; the store checks
// neither).
struct Account {
  std::string name;           // the key; compared exactly (bytewise)
  std::string password_hash;  // HashPassword's string (argon2id); never logged nor answered
  AccountRole role = AccountRole::kViewer;
  TimeMs created_at = 0;
  bool disabled = false;  // a disabled account cannot sign in, and its sessions stop working
  friend bool operator==(const Account&, const Account&) = default;
};

// Changes to an account's roles per community: a community id and its new role, or nullopt to
// remove the account's role there (its base role applies again).
using CommunityRoleChanges = std::map<CommunityId, std::optional<AccountRole>>;

// A signed-in browser session. The secret (the cookie's value) is never stored: only its hash.
struct Session {
  std::string hash;     // SHA-256 hex of the session secret; the key
  std::string account;  // Account::name
  std::string csrf;     // the token a cookie-authenticated write must echo (X-CSRF-Token)
  TimeMs created_at = 0;
  TimeMs expires_at = 0;  // not valid from this time on
  friend bool operator==(const Session&, const Session&) = default;
};

// Thread-safety: any thread. Each write commits on its own and may have to wait for the
// writer's transaction (StoreTxn); a store that makes it wait says how long and fails with
// kUnavailable after that. Reads see only committed data.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Playbooks by community slug (autocommitted). PutPlaybook inserts or replaces by slug;
  // LoadPlaybooks returns all of them ordered by slug (bytewise).
  virtual Status PutPlaybook(const StoredPlaybook& playbook) = 0;
  virtual Result<std::vector<StoredPlaybook>> LoadPlaybooks() = 0;

  // API tokens (their own small autocommitted writes). PutToken inserts or replaces by hash;
  // FindToken returns the token with exactly this hash, nullopt when there is none.
  virtual Status PutToken(const ApiToken& token) = 0;
  virtual Result<std::optional<ApiToken>> FindToken(const std::string& hash) = 0;
  // Every token ordered by name, then created_at (bytewise; names need not be unique: tokens
  // made before the API addressed them by name may share one). DeleteTokens removes every token
  // named `name` and returns how many it removed (0: none). The defaults fail with kUnavailable
  // (a back end or fake that does not list tokens says so).
  virtual Result<std::vector<ApiToken>> ListTokens();
  virtual Result<int64_t> DeleteTokens(const std::string& name);
  // How many times this store object deleted tokens: a cache of tokens verified earlier (the
  // API's) drops what it verified before the count moved, so a deleted token stops working at
  // once. Any thread; 0 in a store that deletes none.
  virtual uint64_t token_deletions() const { return 0; }

  // Accounts (autocommitted). CreateAccount fails with kAlreadyExists when the name is taken;
  // UpdateAccount replaces the password hash, role and disabled flag of the account with that
  // name (created_at stays) and fails with kNotFound when there is none. ListAccounts returns
  // every account ordered by name (bytewise).
  virtual Status CreateAccount(const Account& account) = 0;
  virtual Status UpdateAccount(const Account& account) = 0;
  virtual Result<std::optional<Account>> GetAccount(const std::string& name) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;

  // An account's roles per community (model/account.hpp CommunityRoles; autocommitted). The store
  // checks neither the roles (store/accounts.hpp's rules refuse owner) nor that the communities
  // exist: a role for a community id that has no community is kept and never applies.
  // GetCommunityRoles: the roles of `account`, empty when it has none (or there is no such
  // account). ListCommunityRoles: every account's that has any, by account name.
  // ChangeCommunityRoles sets the role of `account` in each community of `changes` (a role) or
  // removes it (nullopt; removing one it does not have is no error), all or none; kNotFound
  // when there is no account of that name (nothing changed). An account's roles live as long as
  // the account.
  virtual Result<CommunityRoles> GetCommunityRoles(const std::string& account) = 0;
  virtual Result<std::map<std::string, CommunityRoles>> ListCommunityRoles() = 0;
  virtual Status ChangeCommunityRoles(const std::string& account,
                                      const CommunityRoleChanges& changes) = 0;

  // Sessions (autocommitted). PutSession inserts or replaces by hash. GetSession returns the
  // session with exactly this hash whatever its expiry (the caller compares expires_at with its
  // clock). DeleteSession of an unknown hash is no error. DeleteAccountSessions ends every
  // session of an account (after a password change); DeleteExpiredSessions those with
  // expires_at <= now. Both return how many they deleted.
  virtual Status PutSession(const Session& session) = 0;
  virtual Result<std::optional<Session>> GetSession(const std::string& hash) = 0;
  virtual Status DeleteSession(const std::string& hash) = 0;
  virtual Result<int64_t> DeleteAccountSessions(const std::string& account) = 0;
  virtual Result<int64_t> DeleteExpiredSessions(TimeMs now) = 0;
};

inline Result<std::vector<ApiToken>> AdminStore::ListTokens() {
  return Status::Unavailable("this store does not list API tokens (ListTokens)");
}
inline Result<int64_t> AdminStore::DeleteTokens(const std::string&) {
  return Status::Unavailable("this store does not delete API tokens (DeleteTokens)");
}

}  // namespace qz
