#include "store/accounts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace qz {
namespace {

// Serialises the guarded changes of this process: the last-owner rule reads every account and
// then writes one, which must not interleave with another such change.
std::mutex& ChangeMutex() {
  static std::mutex mu;
  return mu;
}

template <typename T>
Guarded<T> Refused(AccountRefusal why, std::string reason) {
  return {.refused = why, .reason = std::move(reason), .value = {}};
}

template <typename T>
Guarded<T> Allowed(T value) {
  return {.refused = AccountRefusal::kNone, .reason = {}, .value = std::move(value)};
}

// The owner role is granted, and owners (accounts and tokens) are changed, by owners only.
bool MayTouchOwners(const AccountActor& actor) { return actor.role == AccountRole::kOwner; }

// Roles per community are configuration: admins and owners change them (so granting admin inside
// a community, too).
bool MayChangeCommunityRoles(const AccountActor& actor) {
  return RoleAllows(actor.role, AccountRole::kAdmin);
}

// Whether the account's role anywhere is lower after the change: its base role, or the role that
// applies inside one of the communities either set of roles names.
bool Lowered(AccountRole base_before, const CommunityRoles& before, AccountRole base_after,
             const CommunityRoles& after) {
  if (base_after < base_before) return true;
  for (const CommunityRoles* roles : {&before, &after}) {
    for (const auto& [community, role] : *roles) {
      if (RoleInCommunity(base_after, after, community) <
          RoleInCommunity(base_before, before, community)) {
        return true;
      }
    }
  }
  return false;
}

std::string OwnerOnlyReason(const AccountActor& actor) {
  return fmt::format(
      "only an owner may grant the owner role or change an owner ('{}' has the "
      "role {})",
      actor.name, AccountRoleName(actor.role));
}

Result<Account> Existing(AdminStore& store, const std::string& name) {
  QZ_ASSIGN_OR_RETURN(std::optional<Account> account, store.GetAccount(name));
  if (!account) return Status::NotFound(fmt::format("no account '{}'", name));
  return std::move(*account);
}

Result<std::string> PasswordOrGenerated(std::optional<std::string> password) {
  if (!password || password->empty()) return GeneratePassword();
  QZ_RETURN_IF_ERROR(ValidateNewPassword(*password));
  return std::move(*password);
}

}  // namespace

std::string_view AccountRefusalCode(AccountRefusal refusal) {
  switch (refusal) {
    case AccountRefusal::kNone:
      return "";
    case AccountRefusal::kOwnerOnly:
      return "owner_only";
    case AccountRefusal::kSelf:
      return "self_change";
    case AccountRefusal::kLastOwner:
      return "last_owner";
    case AccountRefusal::kAdminOnly:
      return "admin_only";
  }
  return "";
}

std::string GeneratePassword() { return RandomHex(12); }

Result<Guarded<NewAccount>> AddAccount(AdminStore& store, const AccountActor& actor,
                                       const std::string& name, AccountRole role,
                                       std::optional<std::string> password, TimeMs now) {
  QZ_RETURN_IF_ERROR(ValidateAccountName(name));
  if (role == AccountRole::kOwner && !MayTouchOwners(actor)) {
    return Refused<NewAccount>(AccountRefusal::kOwnerOnly, OwnerOnlyReason(actor));
  }
  QZ_ASSIGN_OR_RETURN(std::string chosen, PasswordOrGenerated(std::move(password)));
  QZ_ASSIGN_OR_RETURN(std::string hash, HashPassword(chosen));
  NewAccount made{.account = {.name = name,
                              .password_hash = std::move(hash),
                              .role = role,
                              .created_at = now,
                              .disabled = false},
                  .password = std::move(chosen)};
  QZ_RETURN_IF_ERROR(store.CreateAccount(made.account));
  return Allowed(std::move(made));
}

Result<Guarded<ChangedAccount>> ChangeAccount(AdminStore& store, const AccountActor& actor,
                                              const std::string& name,
                                              const AccountChange& change) {
  for (const auto& [community, role] : change.communities) {
    if (role) QZ_RETURN_IF_ERROR(ValidateCommunityRole(*role, "communities"));
  }
  std::lock_guard lock(ChangeMutex());
  QZ_ASSIGN_OR_RETURN(Account account, Existing(store, name));
  QZ_ASSIGN_OR_RETURN(CommunityRoles communities, store.GetCommunityRoles(name));
  const AccountRole role = change.role.value_or(account.role);
  const bool disabled = change.disabled.value_or(account.disabled);
  CommunityRoles new_communities = communities;
  for (const auto& [community, community_role] : change.communities) {
    if (community_role) {
      new_communities[community] = *community_role;
    } else {
      new_communities.erase(community);
    }
  }
  const bool communities_changed = new_communities != communities;
  if (communities_changed && !MayChangeCommunityRoles(actor)) {
    return Refused<ChangedAccount>(
        AccountRefusal::kAdminOnly,
        fmt::format("only an admin or owner may change roles per community ('{}' has the role {})",
                    actor.name, AccountRoleName(actor.role)));
  }
  if ((role == AccountRole::kOwner || account.role == AccountRole::kOwner) &&
      (role != account.role || disabled != account.disabled || communities_changed) &&
      !MayTouchOwners(actor)) {
    return Refused<ChangedAccount>(AccountRefusal::kOwnerOnly, OwnerOnlyReason(actor));
  }
  const bool demoted = Lowered(account.role, communities, role, new_communities);
  const bool disabling = disabled && !account.disabled;
  if (actor.kind == AccountActor::Kind::kAccount && actor.name == name && (demoted || disabling)) {
    return Refused<ChangedAccount>(AccountRefusal::kSelf,
                                   "an account cannot disable or demote itself (also inside one "
                                   "community); ask another admin");
  }
  if (account.role == AccountRole::kOwner && !account.disabled && (demoted || disabled)) {
    QZ_ASSIGN_OR_RETURN(const std::vector<Account> all, store.ListAccounts());
    const auto owners = std::count_if(all.begin(), all.end(), [](const Account& a) {
      return a.role == AccountRole::kOwner && !a.disabled;
    });
    if (owners <= 1) {
      return Refused<ChangedAccount>(
          AccountRefusal::kLastOwner,
          fmt::format("'{}' is the last enabled owner and stays one everywhere; make another "
                      "owner first",
                      name));
    }
  }
  if (communities_changed) QZ_RETURN_IF_ERROR(store.ChangeCommunityRoles(name, change.communities));
  if (change.role || change.disabled) {
    account.role = role;
    account.disabled = disabled;
    QZ_RETURN_IF_ERROR(store.UpdateAccount(account));
  }
  // A disabled account's sessions already stop working (each request reads the account); they
  // are deleted so that re-enabling it does not bring them back.
  int64_t ended = 0;
  if (disabling) {
    QZ_ASSIGN_OR_RETURN(ended, store.DeleteAccountSessions(name));
  }
  return Allowed(ChangedAccount{.account = std::move(account),
                                .communities = std::move(new_communities),
                                .sessions_ended = ended});
}

Result<Guarded<PasswordReset>> ResetPassword(AdminStore& store, const AccountActor& actor,
                                             const std::string& name,
                                             std::optional<std::string> password) {
  QZ_ASSIGN_OR_RETURN(Account account, Existing(store, name));
  if (account.role == AccountRole::kOwner && !MayTouchOwners(actor)) {
    return Refused<PasswordReset>(AccountRefusal::kOwnerOnly, OwnerOnlyReason(actor));
  }
  QZ_ASSIGN_OR_RETURN(std::string chosen, PasswordOrGenerated(std::move(password)));
  QZ_ASSIGN_OR_RETURN(account.password_hash, HashPassword(chosen));
  QZ_RETURN_IF_ERROR(store.UpdateAccount(account));
  QZ_ASSIGN_OR_RETURN(const int64_t ended, store.DeleteAccountSessions(name));
  return Allowed(PasswordReset{.password = std::move(chosen), .sessions_ended = ended});
}

Result<CommunityId> CommunityIdOfSlug(const std::vector<Community>& communities,
                                      std::string_view slug, std::string_view field) {
  for (const Community& c : communities) {
    if (c.slug == slug) return c.id;
  }
  return Status::Invalid(fmt::format("no community '{}'", slug), std::string(field));
}

std::map<std::string, AccountRole> RolesBySlug(const CommunityRoles& roles,
                                               const std::vector<Community>& communities) {
  std::map<std::string, AccountRole> out;
  for (const Community& c : communities) {
    if (auto it = roles.find(c.id); it != roles.end()) out.emplace(c.slug, it->second);
  }
  return out;
}

Status ValidateTokenName(std::string_view name) { return ValidateAccountName(name); }

Result<Guarded<NewToken>> IssueToken(AdminStore& store, const AccountActor& actor,
                                     const std::string& name, AccountRole role, TimeMs now,
                                     bool unique_name) {
  QZ_RETURN_IF_ERROR(ValidateTokenName(name));
  if (role == AccountRole::kOwner && !MayTouchOwners(actor)) {
    return Refused<NewToken>(AccountRefusal::kOwnerOnly, OwnerOnlyReason(actor));
  }
  if (unique_name) {
    QZ_ASSIGN_OR_RETURN(const std::vector<ApiToken> tokens, store.ListTokens());
    if (std::any_of(tokens.begin(), tokens.end(),
                    [&](const ApiToken& t) { return t.name == name; })) {
      return Status(Code::kAlreadyExists, fmt::format("a token '{}' exists", name), "name");
    }
  }
  std::string secret = "qz_" + RandomHex(24);
  ApiToken token{.hash = Sha256Hex(secret), .name = name, .created_at = now, .role = role};
  QZ_RETURN_IF_ERROR(store.PutToken(token));
  return Allowed(NewToken{.token = std::move(token), .secret = std::move(secret)});
}

Result<Guarded<int64_t>> RevokeTokens(AdminStore& store, const AccountActor& actor,
                                      const std::string& name) {
  QZ_ASSIGN_OR_RETURN(const std::vector<ApiToken> tokens, store.ListTokens());
  bool found = false;
  for (const ApiToken& t : tokens) {
    if (t.name != name) continue;
    found = true;
    if (t.role == AccountRole::kOwner && !MayTouchOwners(actor)) {
      return Refused<int64_t>(AccountRefusal::kOwnerOnly, OwnerOnlyReason(actor));
    }
  }
  if (!found) return Status::NotFound(fmt::format("no token '{}'", name));
  QZ_ASSIGN_OR_RETURN(const int64_t deleted, store.DeleteTokens(name));
  return Allowed(deleted);
}

}  // namespace qz
