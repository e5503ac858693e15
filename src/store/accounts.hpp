// qunzhu store: the console's accounts and API tokens as people change them, through the HTTP
// API (server/routes/accounts.cpp) or the command line (`qunzhu user …`, `qunzhu token create`):
// one place for what both do (generated passwords and token secrets, hashing, ending sessions,
// roles per community) and for the rules that guard it (only an owner grants the owner role or
// changes an owner; only an admin or owner changes roles per community, and owner is never one;
// an account cannot disable or demote itself, also inside one community; the last enabled owner
// stays one everywhere). Works over the AdminStore; secrets are returned to the caller once and
// never logged.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/account.hpp"
#include "model/entities.hpp"
#include "store/admin_store.hpp"

namespace qz {

// Who asks for a change.
struct AccountActor {
  enum class Kind : uint8_t {
    kAccount,      // a signed-in console account (`name`)
    kToken,        // an API token (`name` is the token's)
    kCommandLine,  // `qunzhu user …` / `token create`: whoever may write the data directory
  };
  Kind kind = Kind::kCommandLine;
  std::string name;
  AccountRole role = AccountRole::kOwner;
};

// A rule that refused a change otherwise valid: an expected outcome, not an error.
enum class AccountRefusal : uint8_t {
  kNone,
  kOwnerOnly,  // the owner role is granted, and an owner account or token changed, by owners only
  kSelf,       // an account cannot disable or demote itself
  kLastOwner,  // the last enabled owner cannot be disabled or demoted
  kAdminOnly,  // roles per community are changed by admins and owners only
};
// "owner_only", "self_change", "last_owner", "admin_only"; "" for kNone.
std::string_view AccountRefusalCode(AccountRefusal refusal);

// What a guarded change did: `value` when `refused` is kNone, else `reason` (for a human) says
// which rule refused it and nothing was changed.
template <typename T>
struct Guarded {
  AccountRefusal refused = AccountRefusal::kNone;
  std::string reason;
  T value{};
};

// 96 random bits as 24 hex characters: easy to copy, nothing to mistype.
std::string GeneratePassword();

struct NewAccount {
  Account account;
  std::string password;  // the one it was made with: shown once, stored only as its hash
};
// Creates `name` with `role`. `password`: nullopt (or "") makes one (GeneratePassword), else it
// must pass ValidateNewPassword. Errors: kInvalidArgument naming "name" or "password";
// kAlreadyExists (field "name") when the name is taken; the store's.
Result<Guarded<NewAccount>> AddAccount(AdminStore& store, const AccountActor& actor,
                                       const std::string& name, AccountRole role,
                                       std::optional<std::string> password, TimeMs now);

struct AccountChange {
  std::optional<AccountRole> role;
  std::optional<bool> disabled;
  // Roles inside communities to set (a role) or remove (nullopt: the base role applies there
  // again), by community id. Never owner.
  CommunityRoleChanges communities;
};
struct ChangedAccount {
  Account account;             // as stored after the change
  CommunityRoles communities;  // its roles per community after the change
  int64_t sessions_ended = 0;  // when it was disabled
};
// Changes the role, the disabled flag and/or the roles per community of `name`; a demotion is a
// lower role anywhere (the base role, or the role that applies inside a community). Disabling
// also ends the account's sessions (its roles per community stay, for when it is enabled); role
// changes apply to open sessions at once (they read the account on every request). Errors:
// kInvalidArgument naming "communities" for an owner role inside a community; kNotFound; the
// store's. Nothing is changed when a rule refuses or an input is invalid; the roles per community
// are written before the account, each write on its own, so a store failure in the second leaves
// the first. Changes made through this function are serialised within the process, so two of
// them cannot both remove the last enabled owner; a change by another process (the CLI) at the
// same instant is not covered.
Result<Guarded<ChangedAccount>> ChangeAccount(AdminStore& store, const AccountActor& actor,
                                              const std::string& name, const AccountChange& change);

struct PasswordReset {
  std::string password;        // the new one: shown once
  int64_t sessions_ended = 0;  // whoever knew the old one is signed out
};
// Sets a new password for `name` (made when `password` is nullopt or "", else validated) and
// ends every session of the account. Errors: kNotFound; kInvalidArgument naming "password".
Result<Guarded<PasswordReset>> ResetPassword(AdminStore& store, const AccountActor& actor,
                                             const std::string& name,
                                             std::optional<std::string> password);

// People name communities by slug. The id of the community `slug` among `communities`;
// kInvalidArgument naming `field` when there is none.
Result<CommunityId> CommunityIdOfSlug(const std::vector<Community>& communities,
                                      std::string_view slug, std::string_view field);
// `roles` by the slugs of their communities (so ordered by slug), for answers and listings. A role
// for a community id that has no community applies nowhere and is left out.
std::map<std::string, AccountRole> RolesBySlug(const CommunityRoles& roles,
                                               const std::vector<Community>& communities);

// A token's name follows the account names' rules (ValidateAccountName), field "name".
Status ValidateTokenName(std::string_view name);

struct NewToken {
  ApiToken token;      // as stored (hash, name, created_at, role)
  std::string secret;  // "qz_" + 48 hex characters: shown once, stored only as its SHA-256
};
// Makes a token. `unique_name`: kAlreadyExists (field "name") when a token of that name exists
// (the API addresses tokens by name); the CLI allows repeats as it always did. Errors:
// kInvalidArgument naming "name"; the store's.
Result<Guarded<NewToken>> IssueToken(AdminStore& store, const AccountActor& actor,
                                     const std::string& name, AccountRole role, TimeMs now,
                                     bool unique_name);
// Deletes every token named `name` and returns how many. kNotFound when there is none. A
// server that has used a token lately may accept it for a few more minutes (its cache of
// tokens, server/api.cpp).
Result<Guarded<int64_t>> RevokeTokens(AdminStore& store, const AccountActor& actor,
                                      const std::string& name);

}  // namespace qz
