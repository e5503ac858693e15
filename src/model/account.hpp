// qunzhu model: the console's accounts and the roles that say what a signed-in person or an API
// token may do through the API. Value rules only; storing them is the AdminStore's
// (store/admin_store.hpp), checking them on a request the server's (server/api.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "core/status.hpp"

namespace qz {

// Ordered: each role may do everything the roles below it may. The values are stored.
enum class AccountRole : uint8_t {
  kViewer = 1,     // reads everything the API shows
  kAssistant = 2,  // a viewer today; the console's member-facing work (answers, tasks) comes here
  kOperator = 3,   // acts on members and groups: moderation verdicts, invites, broadcasts, events
  kAdmin = 4,      // configures: playbooks, group bindings, platform settings, the account list
  kOwner = 5,      // everything (the first account and the admin token `serve` creates)
};
inline constexpr AccountRole kAccountRoles[] = {AccountRole::kViewer, AccountRole::kAssistant,
                                                AccountRole::kOperator, AccountRole::kAdmin,
                                                AccountRole::kOwner};

// "viewer", "assistant", "operator", "admin", "owner".
std::string_view AccountRoleName(AccountRole role);
// The role named `name` (exactly as AccountRoleName writes it); nullopt otherwise.
std::optional<AccountRole> ParseAccountRole(std::string_view name);
// The role stored as `value`; nullopt for a value that is no role.
std::optional<AccountRole> AccountRoleFromInt(int64_t value);
// "viewer, assistant, operator, admin, owner", for messages.
std::string_view AccountRoleList();

// Whether a principal with role `have` may use something that needs `need`.
inline bool RoleAllows(AccountRole have, AccountRole need) { return have >= need; }

// An account's roles inside particular communities, by community id (CommunityId, an int64_t;
// model/entities.hpp): inside that community the role replaces the account's base role
// (Account::role), higher or lower. Never kOwner: the owner role is global
// (ValidateCommunityRole). API tokens have none.
using CommunityRoles = std::map<int64_t, AccountRole>;

// The role that applies inside community `community_id`: its entry in `roles`, else `base`
// (also for kNoId, "outside any community").
AccountRole RoleInCommunity(AccountRole base, const CommunityRoles& roles, int64_t community_id);
// The highest of `base` and every role in `roles`: the most the account may do somewhere.
AccountRole BestRole(AccountRole base, const CommunityRoles& roles);
// Whether `role` may be given inside one community: any role but owner. kInvalidArgument naming
// `field` otherwise.
Status ValidateCommunityRole(AccountRole role, std::string_view field);
// The role named `name` (ParseAccountRole) that may be given inside one community; kInvalidArgument
// naming `field` for a name that is no role, or for owner.
Result<AccountRole> ParseCommunityRole(std::string_view name, std::string_view field);

inline constexpr size_t kMaxAccountNameChars = 64;
// A name is 1..64 characters, each an ASCII letter or digit, '.', '_', '-', or a CJK character
// (ideographs, kana, hangul syllables). Names compare exactly ("Admin" and "admin" are two).
// kInvalidArgument naming the field "name" otherwise.
Status ValidateAccountName(std::string_view name);

inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;
// A new password is 8..1024 bytes of valid UTF-8 without control characters (so it can be typed
// and sent in JSON). kInvalidArgument naming the field "password" otherwise.
Status ValidateNewPassword(std::string_view password);

}  // namespace qz
