// qunzhu app: the platform adapters this build knows, registered in one explicit function, and
// the adapters of a node made from their config sections ([platforms.<name>]).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "platform/adapter.hpp"

namespace qz {

// One line per adapter. Errors: a platform registered twice (a programming error).
Status RegisterPlatforms(PlatformRegistry& registry);

// The platforms `serve` runs until the node has a config file: the sandbox, with its defaults.
inline constexpr std::string_view kDefaultPlatforms = "[platforms.sandbox]\n";

// Parses `toml`, a document whose one table is [platforms] with a section per platform (or, with
// `only_platforms`, a node config file whose other sections are read elsewhere), and makes an
// adapter per section through the registered factories (nothing is started).
// Errors: kInvalidArgument listing every problem as "<source>:<line>: <key path>: <what>"
// (a syntax error, a platform this build does not know, an unknown key or a bad value).
Result<std::vector<std::unique_ptr<PlatformAdapter>>> CreateAdapters(std::string_view toml,
                                                                     std::string_view source,
                                                                     const AdapterEnv& env,
                                                                     bool only_platforms = false);

}  // namespace qz
