#include "app/cli_users.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/data_dir.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "model/account.hpp"
#include "store/accounts.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {
namespace {

constexpr const char* kDbFile = "qunzhu.db";
constexpr const char* kFirstAccount = "admin";

struct UserFlags {
  std::string data;
  std::string name;
  std::string role;
  std::string community;  // grant, revoke: the community's slug
};

int Fail(const Status& st) {
  fmt::print(stderr, "error: {}\n", st.ToString());
  return st.code() == Code::kInvalidArgument ? 2 : 1;
}

// The store in `dir`. `create`: the directory and the database are made when missing (as
// `token create` does); otherwise a directory without a database is an error, so a mistyped
// --data does not leave an empty data directory behind.
Result<std::unique_ptr<Store>> OpenStore(const std::string& dir, bool create) {
  const std::filesystem::path db = std::filesystem::path(dir) / kDbFile;
  if (create) {
    QZ_RETURN_IF_ERROR(EnsureDataDir(dir));
  } else if (std::error_code ec; !std::filesystem::exists(db, ec)) {
    return Status::Invalid(fmt::format("no database at {}", db.string()), "--data");
  }
  return OpenSqliteStore({.path = db.string()});
}

// The password given on standard input: its first line when standard input is not a terminal;
// nullopt (the shared code makes one) when it is a terminal or that line is empty.
std::optional<std::string> ReadPassword() {
  std::string line;
  if (isatty(STDIN_FILENO) == 0 && std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  if (line.empty()) return std::nullopt;
  return line;
}

Result<Account> FindAccount(Store& store, const std::string& name) {
  QZ_ASSIGN_OR_RETURN(std::optional<Account> account, store.GetAccount(name));
  if (!account) {
    return Status::NotFound(fmt::format("no account '{}' (see `qunzhu user list`)", name));
  }
  return *account;
}

// A password made for `name` is printed once, on standard output only.
void ShowMadePassword(const std::string& name, const std::optional<std::string>& given,
                      const std::string& password) {
  if (!given) fmt::print("password of '{}' (shown only this once): {}\n", name, password);
}

// A rule refused the change: exit 1 with the reason.
int Refused(AccountRefusal why, const std::string& reason) {
  fmt::print(stderr, "error: {} ({})\n", reason, AccountRefusalCode(why));
  return 1;
}

int RunCreate(const UserFlags& f) {
  if (Status st = ValidateAccountName(f.name); !st.ok()) return Fail(Status::Invalid(st.message(), "NAME"));
  const std::optional<AccountRole> role = ParseAccountRole(f.role);
  if (!role) {
    return Fail(Status::Invalid(fmt::format("'{}' is not a role ({})", f.role, AccountRoleList()),
                                "--role"));
  }
  auto store = OpenStore(f.data, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  const std::optional<std::string> given = ReadPassword();
  auto made = AddAccount(**store, AccountActor{}, f.name, *role, given, SystemClock().Now());
  if (!made.ok()) return Fail(made.status());
  if (made->refused != AccountRefusal::kNone) return Refused(made->refused, made->reason);
  ShowMadePassword(f.name, given, made->value.password);
  fmt::print("created the account '{}' (role {})\n", f.name, AccountRoleName(*role));
  return 0;
}

int RunPasswd(const UserFlags& f) {
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  if (auto account = FindAccount(**store, f.name); !account.ok()) return Fail(account.status());
  const std::optional<std::string> given = ReadPassword();
  auto reset = ResetPassword(**store, AccountActor{}, f.name, given);
  if (!reset.ok()) return Fail(reset.status());
  if (reset->refused != AccountRefusal::kNone) return Refused(reset->refused, reset->reason);
  ShowMadePassword(f.name, given, reset->value.password);
  // The old password's sessions end: whoever knew it is signed out.
  fmt::print("changed the password of '{}'; {} session(s) signed out\n", f.name,
             reset->value.sessions_ended);
  return 0;
}

int RunSetDisabled(const UserFlags& f, bool disabled) {
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  if (auto account = FindAccount(**store, f.name); !account.ok()) return Fail(account.status());
  auto changed = ChangeAccount(**store, AccountActor{}, f.name, {.disabled = disabled});
  if (!changed.ok()) return Fail(changed.status());
  if (changed->refused != AccountRefusal::kNone) return Refused(changed->refused, changed->reason);
  fmt::print("{} the account '{}'{}\n", disabled ? "disabled" : "enabled", f.name,
             disabled ? fmt::format("; {} session(s) signed out", changed->value.sessions_ended)
                      : "");
  return 0;
}

// grant (`role` set) and revoke (nullopt): the account's role inside the community --community.
// The rules are ChangeAccount's (the command line acts as an owner: the last enabled owner keeps
// the owner role everywhere).
int RunCommunityRole(const UserFlags& f, bool grant) {
  std::optional<AccountRole> role;
  if (grant) {
    auto parsed = ParseCommunityRole(f.role, "--role");
    if (!parsed.ok()) return Fail(parsed.status());
    role = *parsed;
  }
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  if (auto account = FindAccount(**store, f.name); !account.ok()) return Fail(account.status());
  auto communities = (*store)->ListCommunities();
  if (!communities.ok()) return Fail(communities.status());
  auto community = CommunityIdOfSlug(*communities, f.community, "--community");
  if (!community.ok()) return Fail(community.status());
  auto changed = ChangeAccount(**store, AccountActor{}, f.name, {.communities = {{*community, role}}});
  if (!changed.ok()) return Fail(changed.status());
  if (changed->refused != AccountRefusal::kNone) return Refused(changed->refused, changed->reason);
  if (grant) {
    fmt::print("'{}' has the role {} in the community '{}'\n", f.name, AccountRoleName(*role),
               f.community);
  } else {
    fmt::print("'{}' has its base role {} in the community '{}' again\n", f.name,
               AccountRoleName(changed->value.account.role), f.community);
  }
  return 0;
}

// "camp=operator,fans=viewer", or "-" for none.
std::string CommunitiesColumn(const CommunityRoles& roles, const std::vector<Community>& communities) {
  std::string out;
  for (const auto& [slug, role] : RolesBySlug(roles, communities)) {
    out += fmt::format("{}{}={}", out.empty() ? "" : ",", slug, AccountRoleName(role));
  }
  return out.empty() ? "-" : out;
}

int RunList(const UserFlags& f) {
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto accounts = (*store)->ListAccounts();
  if (!accounts.ok()) return Fail(accounts.status());
  auto roles = (*store)->ListCommunityRoles();
  if (!roles.ok()) return Fail(roles.status());
  auto communities = (*store)->ListCommunities();
  if (!communities.ok()) return Fail(communities.status());
  fmt::print("{:<24} {:<10} {:<25} {:<9} {}\n", "NAME", "ROLE", "CREATED", "DISABLED",
             "COMMUNITIES");
  for (const Account& a : *accounts) {
    const auto it = roles->find(a.name);
    fmt::print("{:<24} {:<10} {:<25} {:<9} {}\n", a.name, AccountRoleName(a.role),
               FormatRfc3339(a.created_at), a.disabled ? "yes" : "no",
               CommunitiesColumn(it == roles->end() ? CommunityRoles{} : it->second, *communities));
  }
  return 0;
}

CLI::App* AddUserSubcommand(CLI::App* user, const char* name, const char* what,
                            const std::shared_ptr<UserFlags>& flags, bool takes_name) {
  auto* cmd = user->add_subcommand(name, what);
  cmd->add_option("--data", flags->data, "The data directory (default $QZ_DATA, else ./data)");
  if (takes_name) cmd->add_option("NAME", flags->name, "The account's name")->required();
  return cmd;
}

}  // namespace

void AddUserCommands(CLI::App& app) {
  auto* user = app.add_subcommand(
      "user", "Manage the console's accounts (sign-in with a name and a password; a role each)");
  user->require_subcommand(1);
  // Owned by the subcommands' callbacks, which live as long as `app`.
  auto flags = std::make_shared<UserFlags>();
  const char* env = std::getenv("QZ_DATA");
  flags->data = env != nullptr && *env != '\0' ? env : "./data";
  const std::string password_help =
      "\nThe password is the first line of standard input (e.g. `printf '%s\\n' \"$PW\" | qunzhu "
      "user ...`; 8 to 1024 bytes, no control characters). When standard input is a terminal or "
      "that line is empty, a random password is made and printed once on standard output; only "
      "its argon2id hash is stored.";

  auto* create = AddUserSubcommand(user, "create", "Create an account with a role", flags, true);
  create->add_option("--role", flags->role,
                     "viewer (reads), assistant, operator (acts on members and groups), admin "
                     "(configures: playbooks, group bindings, accounts), owner")
      ->required();
  create->footer(
      "\nNAME: 1 to 64 letters, digits, '.', '_', '-' or CJK characters; names compare exactly." +
      password_help + "\nThe data directory and its database are created when missing.");
  create->callback([flags] { throw CLI::RuntimeError(RunCreate(*flags)); });

  auto* passwd = AddUserSubcommand(user, "passwd", "Set an account's password", flags, true);
  passwd->footer(password_help + "\nEvery open session of the account is signed out.");
  passwd->callback([flags] { throw CLI::RuntimeError(RunPasswd(*flags)); });

  auto* list = AddUserSubcommand(
      user, "list", "List the accounts: name, role, created, disabled, roles per community",
      flags, false);
  list->footer(
      "\nCOMMUNITIES lists the roles an account has inside particular communities as "
      "slug=role (comma-separated; '-' for none): there they replace its role.");
  list->callback([flags] { throw CLI::RuntimeError(RunList(*flags)); });

  const std::string community_help =
      "\nA role inside one community replaces the account's role (`user create --role`) there, "
      "higher or lower: e.g. a viewer who is an operator in the community 'camp' may act on camp's "
      "moderation, tasks, outbox and sandbox groups and only read elsewhere. Owner is global: it is "
      "never a role inside one community. The last enabled owner keeps the owner role "
      "everywhere. Open sessions get the change at once.";
  auto* grant = AddUserSubcommand(
      user, "grant", "Give an account a role inside one community", flags, true);
  grant->add_option("--community", flags->community, "The community's slug")->required();
  grant->add_option("--role", flags->role,
                    "viewer, assistant, operator or admin (the role inside that community)")
      ->required();
  grant->footer(community_help +
                "\nExit 2 for an unknown community or a role that is not allowed, 1 for an "
                "unknown account or a refused change.");
  grant->callback([flags] { throw CLI::RuntimeError(RunCommunityRole(*flags, true)); });
  auto* revoke = AddUserSubcommand(
      user, "revoke", "Remove an account's role inside one community (its own role applies there)",
      flags, true);
  revoke->add_option("--community", flags->community, "The community's slug")->required();
  revoke->footer(community_help +
                 "\nRevoking a role the account does not have is no error. Exit 2 for an unknown "
                 "community, 1 for an unknown account or a refused change.");
  revoke->callback([flags] { throw CLI::RuntimeError(RunCommunityRole(*flags, false)); });

  auto* disable = AddUserSubcommand(
      user, "disable", "Disable an account: it cannot sign in, its sessions end", flags, true);
  disable->callback([flags] { throw CLI::RuntimeError(RunSetDisabled(*flags, true)); });
  auto* enable = AddUserSubcommand(user, "enable", "Enable a disabled account again", flags, true);
  enable->callback([flags] { throw CLI::RuntimeError(RunSetDisabled(*flags, false)); });

  user->footer(
      "\nRoles, each allowing what those before it allow: viewer, assistant, operator, admin, "
      "owner (README, HTTP API); `grant` and `revoke` set an account's role inside one "
      "community. `serve` creates the account 'admin' (owner) on a data directory "
      "without accounts and prints its password once.");
}

Result<std::optional<std::string>> EnsureFirstAccount(Store& store, TimeMs now) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Account> accounts, store.ListAccounts());
  if (!accounts.empty()) return std::optional<std::string>();
  QZ_ASSIGN_OR_RETURN(Guarded<NewAccount> made,
                      AddAccount(store, AccountActor{}, kFirstAccount, AccountRole::kOwner,
                                 std::nullopt, now));
  return std::optional<std::string>(std::move(made.value.password));
}

}  // namespace qz
