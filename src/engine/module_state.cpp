#include "engine/module_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "model/event.hpp"

namespace qz {
namespace {

bool IsFieldName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void AppendValue(std::string& out, const FieldRef& f) {
  switch (f.type) {
    case FieldType::kInt:
      out += std::to_string(*static_cast<const int64_t*>(f.value));
      return;
    case FieldType::kReal: {
      const double d = *static_cast<const double*>(f.value);
      // JSON has no NaN or infinity; they read back as the field's default.
      out += std::isfinite(d) ? fmt::format("{}", d) : "null";
      return;
    }
    case FieldType::kBool:
      out += *static_cast<const bool*>(f.value) ? "true" : "false";
      return;
    case FieldType::kText:
      out += JsonString(*static_cast<const std::string*>(f.value));
      return;
  }
}

// Sets the field from `j` when the types agree; otherwise leaves it (its default).
bool ReadValue(const nlohmann::json& j, const FieldRef& f) {
  switch (f.type) {
    case FieldType::kInt:
      if (!j.is_number_integer()) return false;
      *static_cast<int64_t*>(f.value) = j.get<int64_t>();
      return true;
    case FieldType::kReal:
      if (!j.is_number()) return false;
      *static_cast<double*>(f.value) = j.get<double>();
      return true;
    case FieldType::kBool:
      if (!j.is_boolean()) return false;
      *static_cast<bool*>(f.value) = j.get<bool>();
      return true;
    case FieldType::kText:
      if (!j.is_string()) return false;
      *static_cast<std::string*>(f.value) = j.get<std::string>();
      return true;
  }
  return false;
}

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kInt: return "int";
    case FieldType::kReal: return "real";
    case FieldType::kBool: return "bool";
    case FieldType::kText: return "text";
  }
  return "unknown";
}

Status ValidateTable(const TableInfo& table) {
  if (!IsFieldName(table.name)) {
    return Status::Invalid(fmt::format("table name '{}' must be 1 to 64 of a-z 0-9 _", table.name),
                           table.name);
  }
  std::set<std::string_view> seen;
  bool has_key = false;
  for (const FieldInfo& f : table.fields) {
    if (!IsFieldName(f.name)) {
      return Status::Invalid(
          fmt::format("table '{}': field name '{}' must be 1 to 64 of a-z 0-9 _", table.name, f.name),
          table.name);
    }
    if (!seen.insert(f.name).second) {
      return Status::Invalid(fmt::format("table '{}': field '{}' declared twice", table.name, f.name),
                             table.name);
    }
    has_key = has_key || f.key;
  }
  if (!has_key) {
    return Status::Invalid(fmt::format("table '{}' declares no key field", table.name), table.name);
  }
  return Status::Ok();
}

std::string EncodeKey(const std::vector<FieldRef>& fields) {
  std::string out = "[";
  for (const FieldRef& f : fields) {
    if (!f.key) continue;
    if (out.size() > 1) out += ',';
    AppendValue(out, f);
  }
  out += ']';
  return out;
}

std::string EncodeValues(const std::vector<FieldRef>& fields) {
  std::string out = "{";
  for (const FieldRef& f : fields) {
    if (f.key) continue;
    if (out.size() > 1) out += ',';
    out += '"';
    out += f.name;  // [a-z0-9_]: nothing to escape
    out += "\":";
    AppendValue(out, f);
  }
  out += '}';
  return out;
}

bool DecodeKey(std::string_view key, const std::vector<FieldRef>& fields) {
  const nlohmann::json j = nlohmann::json::parse(key, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return false;
  size_t i = 0;
  for (const FieldRef& f : fields) {
    if (!f.key) continue;
    if (i >= j.size() || !ReadValue(j[i], f)) return false;
    ++i;
  }
  return i == j.size();
}

void CopyKeyFields(const std::vector<FieldRef>& from, const std::vector<FieldRef>& to) {
  for (size_t i = 0; i < from.size() && i < to.size(); ++i) {
    if (!from[i].key) continue;
    switch (from[i].type) {
      case FieldType::kInt:
        *static_cast<int64_t*>(to[i].value) = *static_cast<const int64_t*>(from[i].value);
        break;
      case FieldType::kReal:
        *static_cast<double*>(to[i].value) = *static_cast<const double*>(from[i].value);
        break;
      case FieldType::kBool:
        *static_cast<bool*>(to[i].value) = *static_cast<const bool*>(from[i].value);
        break;
      case FieldType::kText:
        *static_cast<std::string*>(to[i].value) = *static_cast<const std::string*>(from[i].value);
        break;
    }
  }
}

void DecodeValues(std::string_view values, const std::vector<FieldRef>& fields) {
  const nlohmann::json j = nlohmann::json::parse(values, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  for (const FieldRef& f : fields) {
    if (f.key) continue;
    auto it = j.find(std::string(f.name));
    if (it != j.end()) ReadValue(*it, f);
  }
}

}  // namespace qz
