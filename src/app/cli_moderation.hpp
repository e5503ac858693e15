// qunzhu CLI: `qunzhu moderation ...`, the offline tools of the moderation module. Today
// `moderation train`: labelled TSV in, spam model file out (src/modules/moderation/classifier.hpp).
#pragma once

#include <CLI/CLI.hpp>

namespace qz {

// Adds the `moderation` command and its subcommands to `app`. A chosen subcommand runs from its
// CLI11 callback inside app.parse() and ends the parse by throwing CLI::RuntimeError(exit code),
// which CLI11_PARSE in main() catches and returns silently (0 on success, 2 for invalid input,
// 1 otherwise); main's own dispatch after the parse is therefore never reached for it.
void AddModerationCommands(CLI::App& app);

}  // namespace qz
