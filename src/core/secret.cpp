#include "core/secret.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qz {
namespace {

// Reads at most kMaxSecretFileBytes + 1 bytes, so a larger file is detected without reading it.
bool ReadSecretFile(const std::string& path, std::string& out, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = fmt::format("cannot read the secret file {}: {}", path, std::strerror(errno));
    return false;
  }
  std::string content(kMaxSecretFileBytes + 1, '\0');
  const size_t n = std::fread(content.data(), 1, content.size(), f);
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) {
    error = fmt::format("cannot read the secret file {}", path);
    return false;
  }
  if (n > kMaxSecretFileBytes) {
    error = fmt::format("the secret file {} is larger than {} bytes", path, kMaxSecretFileBytes);
    return false;
  }
  content.resize(n);
  if (!content.empty() && content.back() == '\n') content.pop_back();
  if (!content.empty() && content.back() == '\r') content.pop_back();
  if (content.empty()) {
    error = fmt::format("the secret file {} is empty", path);
    return false;
  }
  out = std::move(content);
  return true;
}

}  // namespace

bool ReadSecret(TableReader& reader, std::string_view key, Secret& out) {
  const toml::node* node = reader.Node(key);
  if (node == nullptr) return false;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    // Never quote the value: it may be the secret itself.
    reader.Invalid(key, node->is_string()
                            ? "a secret is not written in the file: use { env = \"VARIABLE\" } "
                              "or { file = \"/path/to/secret\" }"
                            : fmt::format("expected {{ env = \"VARIABLE\" }} or {{ file = "
                                          "\"/path\" }}, got {}",
                                          TomlTypeName(node->type())));
    return false;
  }
  TableReader source(*table, reader.PathOf(key), reader.problems());
  std::string env, file;
  const bool has_env = source.String("env", env);
  const bool has_file = source.String("file", file);
  source.Done();
  if (has_env && has_file) {
    reader.Invalid(key, "expected one of env or file, not both");
    return false;
  }
  if (!has_env && !has_file) {
    // A wrong type under env or file was reported by the getter already.
    if (!table->contains("env") && !table->contains("file")) {
      reader.Invalid(key, "expected { env = \"VARIABLE\" } or { file = \"/path\" }");
    }
    return false;
  }
  if (has_env) {
    if (env.empty()) {
      source.Invalid("env", "the name of an environment variable is required");
      return false;
    }
    const char* value = std::getenv(env.c_str());
    if (value == nullptr || *value == '\0') {
      source.Invalid("env", fmt::format("the environment variable {} is {}", env,
                                        value == nullptr ? "not set" : "empty"));
      return false;
    }
    out = Secret(value);
    return true;
  }
  std::string content, error;
  if (file.empty() || !ReadSecretFile(file, content, error)) {
    source.Invalid("file", file.empty() ? std::string("a path is required") : error);
    return false;
  }
  out = Secret(std::move(content));
  return true;
}

}  // namespace qz
