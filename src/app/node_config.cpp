#include "app/node_config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace qz {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr int kMinIoThreads = 1;
constexpr int kMaxIoThreads = 64;

std::optional<SyncMode> ParseSync(std::string_view text) {
  if (text == "full") return SyncMode::kFull;
  if (text == "normal") return SyncMode::kNormal;
  return std::nullopt;
}

void ReadServer(TableReader& r, ServerConfig& out) {
  std::string listen;
  if (r.String("listen", listen)) {
    auto parsed = ParseListen(listen, r.PathOf("listen"));
    if (parsed.ok()) {
      out.listen = listen;
    } else {
      r.Invalid("listen", parsed.status().message());
    }
  }
  r.Int("io_threads", out.io_threads, kMinIoThreads, kMaxIoThreads);
  r.String("port_file", out.port_file);
  r.StringList("playbooks", out.playbooks);
  r.Bool("secure_cookies", out.secure_cookies);
  r.Done();
}

void ReadStorage(TableReader& r, StorageConfig& out) {
  std::string backend;
  if (r.String("backend", backend)) {
    if (backend == "sqlite") {
      out.backend = backend;
    } else {
      r.Invalid("backend", fmt::format("unknown back end '{}' (accepted: sqlite)",
                                       Excerpt(backend, 40)));
    }
  }
  std::string dir;
  if (r.String("data_dir", dir)) {
    if (dir.empty()) {
      r.Invalid("data_dir", "must not be empty");
    } else {
      out.data_dir = dir;
    }
  }
  std::string sync;
  if (r.String("sync", sync)) {
    if (auto mode = ParseSync(sync)) {
      out.sync = *mode;
    } else {
      r.Invalid("sync", fmt::format("'{}' is not a sync mode (accepted: full, normal)",
                                    Excerpt(sync, 40)));
    }
  }
  r.Done();
}

void ReadPlatforms(TableReader& r, const PlatformSectionReader& read_section,
                   std::vector<PlatformSection>& out) {
  for (auto&& [key, node] : r.table()) {
    const std::string name(key.str());
    r.Skip(name);
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      r.Invalid(name, fmt::format("expected a table [platforms.{}], got {}", name,
                                  TomlTypeName(node.type())));
      continue;
    }
    const uint32_t line = table->source().begin.line;
    if (!read_section) {
      r.problems().Report(line, r.PathOf(name),
                          fmt::format("unknown platform '{}' (no adapter reads it)",
                                      Excerpt(name, 40)));
    } else {
      TableReader section(*table, r.PathOf(name), r.problems());
      read_section(name, section);
      section.Done();
    }
    out.push_back({name, *table, line});
  }
  r.Done();
}

}  // namespace

Result<ListenAddress> ParseListen(std::string_view text, std::string_view field) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::Invalid(fmt::format("'{}' is not HOST:PORT, e.g. 127.0.0.1:8080",
                                       Excerpt(text, 64)),
                           std::string(field));
  }
  const std::string_view port = text.substr(colon + 1);
  int value = 0;
  bool ok = !port.empty() && port.size() <= 5;
  for (const char c : port) {
    if (c < '0' || c > '9') ok = false;
    if (ok) value = value * 10 + (c - '0');
  }
  if (!ok || value > 65535) {
    return Status::Invalid(fmt::format("'{}': the port must be 0..65535", Excerpt(text, 64)),
                           std::string(field));
  }
  return ListenAddress{std::string(text.substr(0, colon)), static_cast<uint16_t>(value)};
}

Result<NodeConfig> ParseNodeConfig(std::string_view text, std::string_view source,
                                   const PlatformSectionReader& platforms) {
  auto root = ParseToml(text, source, kMaxConfigBytes);
  if (!root.ok()) return root.status();
  ConfigProblems problems{std::string(source)};
  TableReader reader(*root, "", problems);
  NodeConfig config;
  if (const toml::table* t = reader.Table("server")) {
    TableReader r(*t, "server", problems);
    ReadServer(r, config.server);
  }
  if (const toml::table* t = reader.Table("storage")) {
    TableReader r(*t, "storage", problems);
    ReadStorage(r, config.storage);
  }
  if (const toml::table* t = reader.Table("platforms")) {
    TableReader r(*t, "platforms", problems);
    ReadPlatforms(r, platforms, config.platforms);
  }
  reader.Done();
  QZ_RETURN_IF_ERROR(problems.ToStatus());
  return config;
}

Result<NodeConfig> LoadNodeConfig(const std::string& path, const PlatformSectionReader& platforms) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid(fmt::format("cannot read the config file {}", path), "--config");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseNodeConfig(text.str(), path, platforms);
}

Result<ConfigOverrides> ReadEnvironment(const std::function<const char*(const char*)>& getenv) {
  ConfigOverrides out;
  auto get = [&](const char* name) -> std::optional<std::string> {
    const char* value = getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
  if (auto listen = get("QZ_LISTEN")) {
    auto parsed = ParseListen(*listen, "QZ_LISTEN");
    if (!parsed.ok()) return parsed.status();
    out.listen = std::move(listen);
  }
  if (auto threads = get("QZ_IO_THREADS")) {
    char* end = nullptr;
    const long value = std::strtol(threads->c_str(), &end, 10);
    if (end == threads->c_str() || *end != '\0' || value < kMinIoThreads ||
        value > kMaxIoThreads) {
      return Status::Invalid(fmt::format("'{}' is not a number of threads ({} to {})",
                                         Excerpt(*threads, 40), kMinIoThreads, kMaxIoThreads),
                             "QZ_IO_THREADS");
    }
    out.io_threads = static_cast<int>(value);
  }
  out.data_dir = get("QZ_DATA");
  if (auto sync = get("QZ_SYNC")) {
    if (!ParseSync(*sync)) {
      return Status::Invalid(fmt::format("'{}' is not a sync mode (accepted: full, normal)",
                                         Excerpt(*sync, 40)),
                             "QZ_SYNC");
    }
    out.sync = std::move(sync);
  }
  return out;
}

void ApplyOverrides(NodeConfig& config, const ConfigOverrides& o) {
  if (o.listen) config.server.listen = *o.listen;
  if (o.io_threads) config.server.io_threads = *o.io_threads;
  if (o.port_file) config.server.port_file = *o.port_file;
  if (o.playbooks) config.server.playbooks = *o.playbooks;
  if (o.data_dir) config.storage.data_dir = *o.data_dir;
  if (o.sync) config.storage.sync = ParseSync(*o.sync).value_or(config.storage.sync);
}

}  // namespace qz
