// The console's settings: accounts (list, create with a generated password, change the role, the
// roles per community or disable, reset the password) and API tokens (list, create, delete), all
// for admins. The work and its rules (only an owner grants the owner role or changes an owner;
// owner is never a role per community; nobody disables or demotes themselves; the last enabled
// owner stays) are store/accounts.hpp's, shared with the CLI. A generated password or token secret is in its answer once (Cache-Control: no-store) and
// nowhere else: never logged, never stored except as its hash.
#include "store/accounts.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <vector>

#include "server/routes/json.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

AccountActor ActorOf(const Principal& p) {
  return {.kind = p.kind == Principal::Kind::kAccount ? AccountActor::Kind::kAccount
                                                      : AccountActor::Kind::kToken,
          .name = p.name,
          .role = p.role};
}

ApiJson AccountJson(const Account& a, const CommunityRoles& roles,
                    const std::vector<Community>& communities) {
  return {{"name", a.name},
          {"role", AccountRoleName(a.role)},
          {"created_at", TimeJson(a.created_at)},
          {"disabled", a.disabled},
          {"communities", CommunityRolesJson(roles, communities)}};
}

ApiJson TokenJson(const ApiToken& t) {
  return {
      {"name", t.name}, {"role", AccountRoleName(t.role)}, {"created_at", TimeJson(t.created_at)}};
}

// Answers a rule's refusal (403 "owner_only", "admin_only"; 409 "self_change", "last_owner") and
// returns true; false when the change was allowed.
template <typename T>
bool AnsweredRefusal(Call& c, const Guarded<T>& outcome) {
  if (outcome.refused == AccountRefusal::kNone) return false;
  const bool forbidden = outcome.refused == AccountRefusal::kOwnerOnly ||
                         outcome.refused == AccountRefusal::kAdminOnly;
  const int status = forbidden ? 403 : 409;
  c.Respond(Refusal(status, AccountRefusalCode(outcome.refused), outcome.reason));
  return true;
}

// An answer that carries a secret shown once: no cache may keep it.
void RespondSecret(Call& c, int status, const ApiJson& body) {
  ApiResponse res = JsonResponse(status, body);
  res.headers.emplace_back("Cache-Control", "no-store");
  c.Respond(std::move(res));
}

Result<AccountRole> RoleOf(const std::optional<std::string>& role) {
  const std::optional<AccountRole> parsed = role ? ParseAccountRole(*role) : std::nullopt;
  if (!parsed) return Status::Invalid(fmt::format("must be one of {}", AccountRoleList()), "role");
  return *parsed;
}

// The required string `field` of `body`.
Result<std::string> RequiredString(const ApiJson& body, const std::string& field) {
  QZ_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(body, field));
  if (!value) return Status::Invalid("required: a string", field);
  return std::move(*value);
}

// GET /api/v1/accounts: every account, by name, with its roles per community by slug; never its
// password hash.
Status ListAccounts(Call& c) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Account> accounts, c.store().ListAccounts());
  QZ_ASSIGN_OR_RETURN(const auto roles, c.store().ListCommunityRoles());
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  ApiJson out = ApiJson::array();
  for (const Account& a : accounts) {
    const auto it = roles.find(a.name);
    out.push_back(AccountJson(a, it == roles.end() ? CommunityRoles{} : it->second, communities));
  }
  c.RespondJson({{"accounts", std::move(out)}});
  return Status::Ok();
}

// body["communities"]: {"<slug>": "<role>" | null, ...} as changes by community id. Every entry
// is checked before anything is changed: 400 naming "communities" when it is not an object, or
// "communities.<slug>" for a community that does not exist or a value that is no role (or
// owner, which is global).
Result<CommunityRoleChanges> CommunityChanges(const ApiJson& body,
                                              const std::vector<Community>& communities) {
  CommunityRoleChanges changes;
  auto it = body.find("communities");
  if (it == body.end()) return changes;
  if (!it->is_object()) {
    return Status::Invalid("must be an object: {\"<community slug>\": \"<role>\" or null}",
                           "communities");
  }
  for (const auto& [slug, value] : it->items()) {
    const std::string field = "communities." + slug;
    QZ_ASSIGN_OR_RETURN(const CommunityId id, CommunityIdOfSlug(communities, slug, field));
    if (value.is_null()) {
      changes[id] = std::nullopt;
    } else if (value.is_string()) {
      QZ_ASSIGN_OR_RETURN(changes[id], ParseCommunityRole(value.get<std::string>(), field));
    } else {
      return Status::Invalid("must be a role name or null (to remove it)", field);
    }
  }
  return changes;
}

// POST /api/v1/accounts {"name","role"} → 201 {"account":{…},"password":"…"}.
Status CreateAccount(Call& c) {
  QZ_ASSIGN_OR_RETURN(const ApiJson body, ObjectBody(c, {"name", "role"}));
  QZ_ASSIGN_OR_RETURN(const std::string name, RequiredString(body, "name"));
  QZ_ASSIGN_OR_RETURN(const std::optional<std::string> role_name, OptionalString(body, "role"));
  QZ_ASSIGN_OR_RETURN(const AccountRole role, RoleOf(role_name));
  QZ_ASSIGN_OR_RETURN(
      const Guarded<NewAccount> made,
      AddAccount(c.store(), ActorOf(c.principal()), name, role, std::nullopt, c.clock().Now()));
  if (AnsweredRefusal(c, made)) return Status::Ok();
  spdlog::info("account '{}' (role {}) created by '{}'", name, AccountRoleName(role),
               c.principal().name);
  RespondSecret(c, 201,
                {{"account", AccountJson(made.value.account, {}, {})},
                 {"password", made.value.password}});
  return Status::Ok();
}

// PATCH /api/v1/accounts/{name} {"role"?, "disabled"?, "communities"?} →
// {"account":{…},"sessions_ended":n}. "communities" sets ({"<slug>":"<role>"}) or removes
// ({"<slug>":null}) the account's roles inside those communities; the others stay.
Status PatchAccount(Call& c) {
  QZ_ASSIGN_OR_RETURN(const ApiJson body, ObjectBody(c, {"role", "disabled", "communities"}));
  AccountChange change;
  QZ_ASSIGN_OR_RETURN(const std::optional<std::string> role_name, OptionalString(body, "role"));
  if (role_name) {
    QZ_ASSIGN_OR_RETURN(change.role, RoleOf(role_name));
  }
  QZ_ASSIGN_OR_RETURN(change.disabled, OptionalBool(body, "disabled"));
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  QZ_ASSIGN_OR_RETURN(change.communities, CommunityChanges(body, communities));
  if (!change.role && !change.disabled && !body.contains("communities")) {
    return Status::Invalid("nothing to change: give role, disabled and/or communities", "body");
  }
  const std::string& name = c.Param("name");
  QZ_ASSIGN_OR_RETURN(const Guarded<ChangedAccount> changed,
                      ChangeAccount(c.store(), ActorOf(c.principal()), name, change));
  if (AnsweredRefusal(c, changed)) return Status::Ok();
  const ApiJson account =
      AccountJson(changed.value.account, changed.value.communities, communities);
  spdlog::info("account '{}' changed by '{}': role {}, {}, communities {}", name,
               c.principal().name, AccountRoleName(changed.value.account.role),
               changed.value.account.disabled ? "disabled" : "enabled",
               account["communities"].dump());
  c.RespondJson({{"account", account}, {"sessions_ended", changed.value.sessions_ended}});
  return Status::Ok();
}

// POST /api/v1/accounts/{name}/password (no body) → {"account","password","sessions_ended"}: a
// new generated password; the account's sessions end.
Status ResetAccountPassword(Call& c) {
  QZ_RETURN_IF_ERROR(ObjectBody(c, {}, /*empty_is_object=*/true).status());
  const std::string& name = c.Param("name");
  QZ_ASSIGN_OR_RETURN(const Guarded<PasswordReset> reset,
                      ResetPassword(c.store(), ActorOf(c.principal()), name, std::nullopt));
  if (AnsweredRefusal(c, reset)) return Status::Ok();
  spdlog::info("password of account '{}' reset by '{}'; {} session(s) ended", name,
               c.principal().name, reset.value.sessions_ended);
  RespondSecret(c, 200,
                {{"account", name},
                 {"password", reset.value.password},
                 {"sessions_ended", reset.value.sessions_ended}});
  return Status::Ok();
}

// GET /api/v1/tokens: name, role and creation of each token; never its secret nor its hash.
Status ListTokens(Call& c) {
  QZ_ASSIGN_OR_RETURN(const std::vector<ApiToken> tokens, c.store().ListTokens());
  ApiJson out = ApiJson::array();
  for (const ApiToken& t : tokens) out.push_back(TokenJson(t));
  c.RespondJson({{"tokens", std::move(out)}});
  return Status::Ok();
}

// POST /api/v1/tokens {"name","role"} → 201 {"token":"qz_…","name","role","created_at"}.
Status CreateToken(Call& c) {
  QZ_ASSIGN_OR_RETURN(const ApiJson body, ObjectBody(c, {"name", "role"}));
  QZ_ASSIGN_OR_RETURN(const std::string name, RequiredString(body, "name"));
  QZ_ASSIGN_OR_RETURN(const std::optional<std::string> role_name, OptionalString(body, "role"));
  QZ_ASSIGN_OR_RETURN(const AccountRole role, RoleOf(role_name));
  QZ_ASSIGN_OR_RETURN(const Guarded<NewToken> made,
                      IssueToken(c.store(), ActorOf(c.principal()), name, role, c.clock().Now(),
                                 /*unique_name=*/true));
  if (AnsweredRefusal(c, made)) return Status::Ok();
  spdlog::info("API token '{}' (role {}) created by '{}'", name, AccountRoleName(role),
               c.principal().name);
  ApiJson out = TokenJson(made.value.token);
  out["token"] = made.value.secret;
  RespondSecret(c, 201, out);
  return Status::Ok();
}

// DELETE /api/v1/tokens/{name} → {"deleted": n}.
Status DeleteToken(Call& c) {
  const std::string& name = c.Param("name");
  QZ_ASSIGN_OR_RETURN(const Guarded<int64_t> deleted,
                      RevokeTokens(c.store(), ActorOf(c.principal()), name));
  if (AnsweredRefusal(c, deleted)) return Status::Ok();
  spdlog::info("API token '{}' deleted by '{}'", name, c.principal().name);
  c.RespondJson({{"deleted", deleted.value}});
  return Status::Ok();
}

}  // namespace

Status AddAccountRoutes(RouteTable& table) {
  struct Entry {
    const char* method;
    const char* pattern;
    Handler handler;
  };
  const Entry entries[] = {
      {"GET", "/api/v1/accounts", ListAccounts},
      {"POST", "/api/v1/accounts", CreateAccount},
      {"PATCH", "/api/v1/accounts/{name}", PatchAccount},
      {"POST", "/api/v1/accounts/{name}/password", ResetAccountPassword},
      {"GET", "/api/v1/tokens", ListTokens},
      {"POST", "/api/v1/tokens", CreateToken},
      {"DELETE", "/api/v1/tokens/{name}", DeleteToken},
  };
  // Configuration: admins. Hashing a password takes tens of milliseconds: the blocking pool.
  for (const Entry& e : entries) {
    QZ_RETURN_IF_ERROR(table.Add({e.method, e.pattern, e.handler, RunOn::kBlockingPool,
                                  Access::kSignedIn, AccountRole::kAdmin}));
  }
  return Status::Ok();
}

}  // namespace qz
