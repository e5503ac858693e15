// The console's sessions: sign in (name and password → a session cookie and its CSRF token), who
// is signed in, sign out. Passwords are checked with argon2id
// (core/crypto.hpp) on the blocking pool; failed sign-ins are limited per account and per client
// address (SignInLimiter).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "server/auth.hpp"
#include "server/routes/json.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

// One answer for every failed sign-in (unknown name, wrong password, disabled account), so the
// answer does not tell which names exist.
constexpr const char* kWrongCredentials = "wrong name or password";
// Longer input cannot be a name; refused before it becomes a limiter key.
constexpr size_t kMaxNameBytes = 4 * kMaxAccountNameChars;

// A hash of no one's password, verified against when the name is unknown, so an unknown name
// takes as long to refuse as a wrong password.
const std::string& DummyHash() {
  static const std::string kHash = [] {
    auto h = HashPassword("no account has this password " + RandomHex(16));
    return h.ok() ? *h : std::string();
  }();
  return kHash;
}

// Who is signed in, with the roles per community by slug (`communities`: a token has none), so
// the console can tell where the account may act.
ApiJson SessionJson(const Principal& p, const std::vector<Community>& communities) {
  if (p.kind == Principal::Kind::kToken) {
    return {{"token", p.name},
            {"role", AccountRoleName(p.role)},
            {"communities", ApiJson::object()}};
  }
  return {{"account", p.name},
          {"role", AccountRoleName(p.role)},
          {"communities", CommunityRolesJson(p.community_roles, communities)},
          {"csrf", p.csrf},
          {"expires_at", TimeJson(p.session_expires_at)}};
}

struct Credentials {
  std::string name;
  std::string password;
};

Result<Credentials> ReadCredentials(Call& c) {
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  const auto body = ApiJson::parse(c.body(), nullptr, /*allow_exceptions=*/false);
  std::string().swap(c.body());  // the password goes no further than needed
  if (!body.is_object()) return Status::Invalid("the body must be a JSON object", "body");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "name" && it.key() != "password") {
      return Status::Invalid("unknown field (expected name, password)", it.key());
    }
  }
  Credentials out;
  for (const char* field : {"name", "password"}) {
    auto it = body.find(field);
    if (it == body.end() || !it->is_string()) return Status::Invalid("required: a string", field);
  }
  out.name = body["name"].get<std::string>();
  out.password = body["password"].get<std::string>();
  if (out.name.size() > kMaxNameBytes) {
    return Status::Invalid(fmt::format("at most {} characters", kMaxAccountNameChars), "name");
  }
  if (out.password.size() > kMaxPasswordBytes) {
    return Status::Invalid(fmt::format("at most {} bytes", kMaxPasswordBytes), "password");
  }
  return out;
}

// POST /api/v1/session {"name","password"} (public): on the blocking pool (a store read and an
// argon2id verification, tens of milliseconds).
Status SignIn(Call& c, const AuthOptions& options, SignInLimiter& limiter) {
  QZ_ASSIGN_OR_RETURN(const Credentials credentials, ReadCredentials(c));
  const TimeMs now = c.clock().Now();
  const std::string account_key = "account:" + credentials.name;
  const std::string address_key = "address:" + c.request().remote_address;
  if (const TimeMs wait = limiter.RetryAfter({account_key, address_key}, now); wait > 0) {
    const TimeMs seconds = (wait + 999) / 1000;
    ApiResponse res = ErrorResponse(Status(
        Code::kResourceExhausted,
        fmt::format("too many failed sign-ins for this account or from this address; try again "
                    "in {} s",
                    seconds)));
    for (auto& [name, value] : res.headers) {
      if (name == "Retry-After") value = std::to_string(seconds);
    }
    c.Respond(std::move(res));
    return Status::Ok();
  }
  std::optional<Account> account;
  if (ValidateAccountName(credentials.name).ok()) {
    QZ_ASSIGN_OR_RETURN(account, c.store().GetAccount(credentials.name));
  }
  const bool password_ok =
      VerifyPassword(account ? account->password_hash : DummyHash(), credentials.password);
  if (!password_ok || !account || account->disabled) {
    limiter.RecordFailure({account_key, address_key}, now);
    return Status(Code::kUnauthenticated, kWrongCredentials);
  }
  limiter.Clear(account_key);
  // Housekeeping: ended sessions go when someone signs in. Its failure costs nothing now.
  if (auto pruned = c.store().DeleteExpiredSessions(now); !pruned.ok()) {
    spdlog::warn("sign-in: removing expired sessions failed: {}", pruned.status().ToString());
  }
  const std::string secret = RandomHex(32);
  const Session session{.hash = Sha256Hex(secret),
                        .account = account->name,
                        .csrf = RandomHex(16),
                        .created_at = now,
                        .expires_at = now + options.session_ttl_ms};
  QZ_ASSIGN_OR_RETURN(CommunityRoles community_roles, c.store().GetCommunityRoles(account->name));
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  QZ_RETURN_IF_ERROR(c.store().PutSession(session));
  const Principal principal{.kind = Principal::Kind::kAccount,
                            .name = account->name,
                            .role = account->role,
                            .community_roles = std::move(community_roles),
                            .csrf = session.csrf,
                            .session_expires_at = session.expires_at};
  ApiResponse res = JsonResponse(200, SessionJson(principal, communities));
  res.headers.emplace_back("Set-Cookie",
                           SessionCookie(secret, options.session_ttl_ms, options.secure_cookies));
  res.headers.emplace_back("Cache-Control", "no-store");
  c.Respond(std::move(res));
  return Status::Ok();
}

// GET /api/v1/session: who is signed in (an account with its session, or a token). On the
// blocking pool: the communities' slugs are read from the store.
Status WhoAmI(Call& c) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Community> communities, c.store().ListCommunities());
  ApiResponse res = JsonResponse(200, SessionJson(c.principal(), communities));
  res.headers.emplace_back("Cache-Control", "no-store");
  c.Respond(std::move(res));
  return Status::Ok();
}

// DELETE /api/v1/session: signs out (the session is deleted, the cookie cleared).
Status SignOut(Call& c, const AuthOptions& options) {
  const Principal& p = c.principal();
  if (p.kind != Principal::Kind::kAccount) {
    return Status::Invalid("this request is authenticated with an API token: there is no session "
                           "to end",
                           "Authorization");
  }
  QZ_RETURN_IF_ERROR(c.store().DeleteSession(p.session_hash));
  ApiResponse res = JsonResponse(200, {{"signed_out", true}});
  res.headers.emplace_back("Set-Cookie", ClearedSessionCookie(options.secure_cookies));
  c.Respond(std::move(res));
  return Status::Ok();
}

}  // namespace

Status AddSessionRoutes(RouteTable& table, const AuthOptions& options, SignInLimiter& limiter) {
  constexpr const char* kSession = "/api/v1/session";
  QZ_RETURN_IF_ERROR(table.Add({"POST", kSession,
                                [&options, &limiter](Call& c) { return SignIn(c, options, limiter); },
                                RunOn::kBlockingPool, Access::kPublic}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", kSession, WhoAmI, RunOn::kBlockingPool}));
  // Anyone signed in may sign out.
  QZ_RETURN_IF_ERROR(table.Add({"DELETE", kSession,
                                [&options](Call& c) { return SignOut(c, options); },
                                RunOn::kBlockingPool, Access::kSignedIn, AccountRole::kViewer}));
  // The account list and the rest of the settings (routes/accounts.cpp) come with the sessions
  // they manage.
  return AddAccountRoutes(table);
}

}  // namespace qz
