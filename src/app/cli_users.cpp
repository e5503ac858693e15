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
#include "store/sqlite/sqlite_store.hpp"

namespace qz {
namespace {

constexpr const char* kDbFile = "qunzhu.db";
constexpr const char* kFirstAccount = "admin";

struct UserFlags {
  std::string data;
  std::string name;
  std::string role;
};

int Fail(const Status& st) {
  fmt::print(stderr, "error: {}\n", st.ToString());
  return st.code() == Code::kInvalidArgument ? 2 : 1;
}

// 96 random bits as 24 hex characters: easy to copy, nothing to mistype.
std::string GeneratePassword() { return RandomHex(12); }

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

// The password for `name`: the first line of standard input, or, when standard input is a
// terminal or that line is empty, a new random one printed once.
Result<std::string> ReadPassword(const std::string& name) {
  std::string line;
  if (isatty(STDIN_FILENO) == 0 && std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  if (line.empty()) {
    std::string generated = GeneratePassword();
    fmt::print("password of '{}' (shown only this once): {}\n", name, generated);
    return generated;
  }
  QZ_RETURN_IF_ERROR(ValidateNewPassword(line));
  return line;
}

Result<Account> FindAccount(Store& store, const std::string& name) {
  QZ_ASSIGN_OR_RETURN(std::optional<Account> account, store.GetAccount(name));
  if (!account) return Status::NotFound(fmt::format("no account '{}' (see `qunzhu user list`)", name));
  return *account;
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
  auto existing = (*store)->GetAccount(f.name);
  if (!existing.ok()) return Fail(existing.status());
  if (existing->has_value()) {
    return Fail(Status(Code::kAlreadyExists, fmt::format("an account '{}' exists", f.name)));
  }
  auto password = ReadPassword(f.name);
  if (!password.ok()) return Fail(password.status());
  auto hash = HashPassword(*password);
  if (!hash.ok()) return Fail(hash.status());
  const Account account{.name = f.name,
                        .password_hash = std::move(*hash),
                        .role = *role,
                        .created_at = SystemClock().Now()};
  if (Status st = (*store)->CreateAccount(account); !st.ok()) return Fail(st);
  fmt::print("created the account '{}' (role {})\n", f.name, AccountRoleName(*role));
  return 0;
}

int RunPasswd(const UserFlags& f) {
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto account = FindAccount(**store, f.name);
  if (!account.ok()) return Fail(account.status());
  auto password = ReadPassword(f.name);
  if (!password.ok()) return Fail(password.status());
  auto hash = HashPassword(*password);
  if (!hash.ok()) return Fail(hash.status());
  account->password_hash = std::move(*hash);
  if (Status st = (*store)->UpdateAccount(*account); !st.ok()) return Fail(st);
  // The old password's sessions end: whoever knew it is signed out.
  auto ended = (*store)->DeleteAccountSessions(f.name);
  if (!ended.ok()) return Fail(ended.status());
  fmt::print("changed the password of '{}'; {} session(s) signed out\n", f.name, *ended);
  return 0;
}

int RunSetDisabled(const UserFlags& f, bool disabled) {
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto account = FindAccount(**store, f.name);
  if (!account.ok()) return Fail(account.status());
  account->disabled = disabled;
  if (Status st = (*store)->UpdateAccount(*account); !st.ok()) return Fail(st);
  int64_t ended = 0;
  if (disabled) {
    auto deleted = (*store)->DeleteAccountSessions(f.name);
    if (!deleted.ok()) return Fail(deleted.status());
    ended = *deleted;
  }
  fmt::print("{} the account '{}'{}\n", disabled ? "disabled" : "enabled", f.name,
             disabled ? fmt::format("; {} session(s) signed out", ended) : "");
  return 0;
}

int RunList(const UserFlags& f) {
  auto store = OpenStore(f.data, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto accounts = (*store)->ListAccounts();
  if (!accounts.ok()) return Fail(accounts.status());
  fmt::print("{:<24} {:<10} {:<25} {}\n", "NAME", "ROLE", "CREATED", "DISABLED");
  for (const Account& a : *accounts) {
    fmt::print("{:<24} {:<10} {:<25} {}\n", a.name, AccountRoleName(a.role),
               FormatRfc3339(a.created_at), a.disabled ? "yes" : "no");
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

  auto* list = AddUserSubcommand(user, "list", "List the accounts: name, role, created, disabled",
                                 flags, false);
  list->callback([flags] { throw CLI::RuntimeError(RunList(*flags)); });

  auto* disable = AddUserSubcommand(
      user, "disable", "Disable an account: it cannot sign in, its sessions end", flags, true);
  disable->callback([flags] { throw CLI::RuntimeError(RunSetDisabled(*flags, true)); });
  auto* enable = AddUserSubcommand(user, "enable", "Enable a disabled account again", flags, true);
  enable->callback([flags] { throw CLI::RuntimeError(RunSetDisabled(*flags, false)); });

  user->footer(
      "\nRoles, each allowing what those before it allow: viewer, assistant, operator, admin, "
      "owner (README, HTTP API). `serve` creates the account 'admin' (owner) on a data directory "
      "without accounts and prints its password once.");
}

Result<std::optional<std::string>> EnsureFirstAccount(Store& store, TimeMs now) {
  QZ_ASSIGN_OR_RETURN(const std::vector<Account> accounts, store.ListAccounts());
  if (!accounts.empty()) return std::optional<std::string>();
  std::string password = GeneratePassword();
  QZ_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  QZ_RETURN_IF_ERROR(store.CreateAccount({.name = kFirstAccount,
                                          .password_hash = std::move(hash),
                                          .role = AccountRole::kOwner,
                                          .created_at = now}));
  return std::optional<std::string>(std::move(password));
}

}  // namespace qz
