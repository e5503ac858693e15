#include "core/toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <new>

namespace qz {
namespace {

constexpr size_t kMaxReportedProblems = 20;

bool IsBareKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

void ConfigProblems::Report(uint32_t line, std::string path, std::string what) {
  problems_.push_back({line, std::move(path), std::move(what)});
}

Status ConfigProblems::ToStatus() const {
  if (problems_.empty()) return Status::Ok();
  // toml++ tables iterate in key order, not document order; sort so the first problem reported
  // is the first in the file (stable: problems on one line keep their order).
  std::vector<const Problem*> sorted;
  sorted.reserve(problems_.size());
  for (const Problem& p : problems_) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Problem* a, const Problem* b) { return a->line < b->line; });
  std::string message;
  const size_t shown = std::min(sorted.size(), kMaxReportedProblems);
  for (size_t i = 0; i < shown; ++i) {
    const Problem& p = *sorted[i];
    if (!message.empty()) message += '\n';
    if (p.line > 0) {
      message += fmt::format("{}:{}: {}: {}", source_, p.line, p.path, p.what);
    } else {
      message += fmt::format("{}: {}: {}", source_, p.path, p.what);
    }
  }
  if (sorted.size() > shown) {
    message += fmt::format("\n{}: … and {} more", source_, sorted.size() - shown);
  }
  return Status::Invalid(std::move(message), sorted.front()->path);
}

std::string_view TomlTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

std::string JoinPath(std::string_view path, std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), IsBareKeyChar);
  // fmt rather than "\"" + string: GCC 12 at -O3 warns falsely on the latter (-Wrestrict).
  const std::string k = bare ? std::string(key) : fmt::format("\"{}\"", Excerpt(key, 40));
  return path.empty() ? k : fmt::format("{}.{}", path, k);
}

std::string IndexPath(std::string_view path, size_t index) {
  return fmt::format("{}[{}]", path, index);
}

const toml::node* TableReader::Get(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return table_.get(key);
}

void TableReader::WrongType(const toml::node& node, std::string_view key,
                            std::string_view expected) {
  problems_.Report(node, PathOf(key),
                   fmt::format("expected {}, got {}", expected, TomlTypeName(node.type())));
}

void TableReader::Invalid(std::string_view key, std::string what) {
  const toml::node* node = table_.get(key);
  problems_.Report(node ? *node : static_cast<const toml::node&>(table_), PathOf(key),
                   std::move(what));
}

void TableReader::Require(std::string_view key, std::string_view what) {
  if (!table_.contains(key)) {
    problems_.Report(table_, PathOf(key), fmt::format("required ({})", what));
  }
}

bool TableReader::String(std::string_view key, std::string& out) {
  const toml::node* node = Get(key);
  if (node == nullptr) return false;
  if (const auto* s = node->as_string()) {
    out = s->get();
    return true;
  }
  WrongType(*node, key, "a string");
  return false;
}

bool TableReader::Int(std::string_view key, int64_t& out, int64_t min, int64_t max) {
  const toml::node* node = Get(key);
  if (node == nullptr) return false;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    WrongType(*node, key, "an integer");
    return false;
  }
  if (i->get() < min || i->get() > max) {
    problems_.Report(*node, PathOf(key),
                     fmt::format("{} is out of range ({} to {})", i->get(), min, max));
    return false;
  }
  out = i->get();
  return true;
}

bool TableReader::Int(std::string_view key, int& out, int min, int max) {
  int64_t v = 0;
  if (!Int(key, v, min, max)) return false;
  out = static_cast<int>(v);
  return true;
}

bool TableReader::Bool(std::string_view key, bool& out) {
  const toml::node* node = Get(key);
  if (node == nullptr) return false;
  if (const auto* b = node->as_boolean()) {
    out = b->get();
    return true;
  }
  WrongType(*node, key, "a boolean (true or false)");
  return false;
}

bool TableReader::Double(std::string_view key, double& out, double min, double max) {
  const toml::node* node = Get(key);
  if (node == nullptr) return false;
  double v = 0;
  if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    WrongType(*node, key, "a number");
    return false;
  }
  if (!std::isfinite(v) || v < min || v > max) {
    problems_.Report(*node, PathOf(key), fmt::format("{} is out of range ({} to {})", v, min, max));
    return false;
  }
  out = v;
  return true;
}

bool TableReader::StringList(std::string_view key, std::vector<std::string>& out) {
  const toml::array* array = Array(key);
  if (array == nullptr) return false;
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& node = *array->get(i);
    if (const auto* s = node.as_string()) {
      values.push_back(s->get());
    } else {
      problems_.Report(node, IndexPath(PathOf(key), i),
                       fmt::format("expected a string, got {}", TomlTypeName(node.type())));
      ok = false;
    }
  }
  if (ok) out = std::move(values);
  return ok;
}

const toml::table* TableReader::Table(std::string_view key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return nullptr;
  if (const toml::table* t = node->as_table()) return t;
  WrongType(*node, key, "a table");
  return nullptr;
}

const toml::array* TableReader::Array(std::string_view key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return nullptr;
  if (const toml::array* a = node->as_array()) return a;
  WrongType(*node, key, "an array");
  return nullptr;
}

const toml::node* TableReader::Node(std::string_view key) { return Get(key); }

void TableReader::Done() {
  for (auto&& [key, node] : table_) {
    if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
    // In the order the reader asked for them: the order the documentation lists them.
    const std::vector<std::string>& expected = known_;
    std::string list;
    for (const std::string& e : expected) {
      if (!list.empty()) list += ", ";
      list += e;
    }
    problems_.Report(key.source().begin.line, PathOf(key.str()),
                     expected.empty() ? std::string("unknown key (this table takes no keys)")
                                      : fmt::format("unknown key (expected one of: {})", list));
  }
}

const toml::table* ExpectTable(const toml::node& node, std::string_view path,
                               std::string_view what, ConfigProblems& problems) {
  if (const toml::table* t = node.as_table()) return t;
  problems.Report(node, std::string(path),
                  fmt::format("expected {}, got {}", what, TomlTypeName(node.type())));
  return nullptr;
}

const toml::array* ExpectArray(const toml::node& node, std::string_view path,
                               std::string_view what, ConfigProblems& problems) {
  if (const toml::array* a = node.as_array()) return a;
  problems.Report(node, std::string(path),
                  fmt::format("expected {}, got {}", what, TomlTypeName(node.type())));
  return nullptr;
}

Result<toml::table> ParseToml(std::string_view text, std::string_view source, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::Invalid(fmt::format("{}: larger than {} bytes", source, max_bytes));
  }
  // toml++ reports syntax errors (and allocation failures) by exception; none may leave here.
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::Invalid(fmt::format("{}:{}:{}: TOML syntax error: {}", source,
                                       e.source().begin.line, e.source().begin.column,
                                       e.description()));
  } catch (const std::bad_alloc&) {
    return Status::Internal(fmt::format("{}: out of memory while parsing", source));
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("{}: {}", source, e.what()));
  }
}

}  // namespace qz
