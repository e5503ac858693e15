// qunzhu app: the node's configuration file (`qunzhu serve --config FILE`, TOML; an example is
// qunzhu.example.toml at the repository root). One typed struct per section with its defaults;
// the whole file is validated at load and every problem is reported with its key path and line.
// Precedence, highest first: command-line flags, environment variables (QZ_*), the file, defaults.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "core/toml_reader.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {

// [server]
struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free port
  int io_threads = 2;                     // 1..64
  std::string port_file;                  // written with the bound port once listening; "" none
  std::vector<std::string> playbooks;     // TOML files validated, stored and applied at start
  // The console's session cookie carries `Secure`: set it when browsers reach qunzhu over https
  // (a TLS proxy in front); qunzhu itself serves plain http.
  bool secure_cookies = false;
};

// [storage]
struct StorageConfig {
  std::string backend = "sqlite";   // the only back end for now
  std::string data_dir = "./data";  // holds qunzhu.db, admin.token, qunzhu.lock
  SyncMode sync = SyncMode::kFull;  // "full" | "normal" (docs/architecture.md, Storage)
};

// One [platforms.<name>] table, kept as written for the adapter factory that reads it.
struct PlatformSection {
  std::string name;
  toml::table table;
  uint32_t line = 0;  // of the table's header
};

struct NodeConfig {
  ServerConfig server;
  StorageConfig storage;
  std::vector<PlatformSection> platforms;  // in name order
};

// Reads one [platforms.<name>] table: the app connects this to the adapter factories. It reads
// what it knows through `section` (whose problems name `platforms.<name>.<key>` and the line);
// the loader then calls section.Done(), so keys it did not read are reported as unknown. It must
// not keep `section` beyond the call (the raw table stays in NodeConfig::platforms).
using PlatformSectionReader = std::function<void(std::string_view name, TableReader& section)>;

// Parses and validates a config file's text. With no `platforms` reader, every platforms.*
// table is an "unknown platform" problem naming its path. kInvalidArgument lists every problem
// ("<source>:<line>: <key path>: <what>"); its field is the first problem's key path.
Result<NodeConfig> ParseNodeConfig(std::string_view text, std::string_view source,
                                   const PlatformSectionReader& platforms = {});
// Reads FILE (at most 1 MiB) and parses it.
Result<NodeConfig> LoadNodeConfig(const std::string& path,
                                  const PlatformSectionReader& platforms = {});

// Values that replace the file's: from the environment or the command line. Unset = keep.
struct ConfigOverrides {
  std::optional<std::string> listen;
  std::optional<int> io_threads;
  std::optional<std::string> port_file;
  std::optional<std::vector<std::string>> playbooks;
  std::optional<std::string> data_dir;
  std::optional<std::string> sync;  // "full" | "normal"
};

// The environment variables read by `serve` (and QZ_DATA / QZ_SYNC by every command with --data),
// for --help: "QZ_LISTEN, QZ_IO_THREADS, …".
struct EnvVar {
  const char* name;
  const char* what;
};
inline constexpr EnvVar kConfigEnvVars[] = {
    {"QZ_CONFIG", "the config file (as --config)"},
    {"QZ_LISTEN", "server.listen (as --listen)"},
    {"QZ_IO_THREADS", "server.io_threads (as --io-threads)"},
    {"QZ_DATA", "storage.data_dir (as --data)"},
    {"QZ_SYNC", "storage.sync (as --sync)"},
};

// Reads QZ_LISTEN, QZ_IO_THREADS, QZ_DATA and QZ_SYNC through `getenv` (injected for tests); an
// empty variable counts as unset. A value that is not valid is kInvalidArgument whose field is
// the variable. (QZ_CONFIG names the file and is read by the CLI.)
Result<ConfigOverrides> ReadEnvironment(const std::function<const char*(const char*)>& getenv);

// Replaces the values of `config` that `overrides` sets. The values were validated where they
// were read (ReadEnvironment, the CLI's checks).
void ApplyOverrides(NodeConfig& config, const ConfigOverrides& overrides);

// "HOST:PORT" split and checked (port 0..65535).
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
Result<ListenAddress> ParseListen(std::string_view text, std::string_view field);

}  // namespace qz
