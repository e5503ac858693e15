// qunzhu CLI: `qunzhu user ...`, the console's accounts (model/account.hpp), and the first
// account `serve` makes on a data directory that has none.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "store/store.hpp"

namespace qz {

// Adds the `user` command and its subcommands (create, passwd, list, disable, enable, grant,
// revoke) to `app`.
// Like AddModerationCommands: a chosen subcommand runs from its CLI11 callback and ends the parse
// by throwing CLI::RuntimeError(exit code): 0 on success, 2 for invalid input (a name, role or
// password that is not allowed, an unknown community), 1 otherwise (no such account, a taken
// name, a refused change, the store).
// Passwords: the first line of standard input (without its line ending); when standard input is
// a terminal or that line is empty, a random password is made and printed once on standard
// output. Like `token create`, these take no lock: they work on a running server's directory.
void AddUserCommands(CLI::App& app);

// When `store` has no account at all, creates `admin` with the role owner and a random password,
// and returns that password (the caller shows it once; it is stored only as its hash). nullopt
// when accounts exist.
Result<std::optional<std::string>> EnsureFirstAccount(Store& store, TimeMs now);

}  // namespace qz
