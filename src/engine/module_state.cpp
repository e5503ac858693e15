#include "engine/module_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
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

// Appends in place: a row is encoded on the writer at every Put, so no temporary strings.
void AppendValue(std::string& out, const FieldRef& f) {
  switch (f.type) {
    case FieldType::kInt: {
      char buffer[24];
      const auto end = std::to_chars(buffer, buffer + sizeof buffer, *static_cast<const int64_t*>(f.value)).ptr;
      out.append(buffer, end);
      return;
    }
    case FieldType::kReal: {
      const double d = *static_cast<const double*>(f.value);
      // JSON has no NaN or infinity; they read back as the field's default.
      if (std::isfinite(d)) {
        fmt::format_to(std::back_inserter(out), "{}", d);
      } else {
        out += "null";
      }
      return;
    }
    case FieldType::kBool:
      out += *static_cast<const bool*>(f.value) ? "true" : "false";
      return;
    case FieldType::kText:
      AppendJsonString(out, *static_cast<const std::string*>(f.value));
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

// The fast path of DecodeValues for what EncodeValues writes: a flat object whose values are
// numbers, booleans, null or strings without \u escapes. It applies ReadValue's rules (a value
// of another type leaves the field alone). Read with `assign` false only checks that the text is
// of that shape; the caller parses anything else in full.
class FlatReader {
 public:
  FlatReader(std::string_view in, bool assign) : in_(in), assign_(assign) {}

  bool Read(const std::vector<FieldRef>& fields) {
    Skip();
    if (!Eat('{')) return false;
    Skip();
    if (Eat('}')) return End();
    while (true) {
      std::string name;
      if (!String(name)) return false;
      Skip();
      if (!Eat(':')) return false;
      Skip();
      const FieldRef* field = nullptr;
      for (const FieldRef& f : fields) {
        if (assign_ && !f.key && f.name == name) field = &f;
      }
      if (!Value(field)) return false;
      Skip();
      if (Eat('}')) return End();
      if (!Eat(',')) return false;
      Skip();
    }
  }

 private:
  bool End() {
    Skip();
    return pos_ == in_.size();
  }
  void Skip() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\t' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    if (pos_ >= in_.size() || in_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool String(std::string& out) {
    if (!Eat('"')) return false;
    while (pos_ < in_.size()) {
      const size_t stop = in_.find_first_of("\"\\", pos_);
      if (stop == std::string_view::npos) return false;
      out.append(in_.substr(pos_, stop - pos_));
      pos_ = stop + 1;
      if (in_[stop] == '"') return true;
      if (pos_ >= in_.size()) return false;
      switch (in_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default: return false;  // \u…: the full parser
      }
    }
    return false;
  }
  bool Value(const FieldRef* f) {
    if (pos_ >= in_.size()) return false;
    const char c = in_[pos_];
    if (c == '"') {
      std::string text;
      if (!String(text)) return false;
      if (f != nullptr && f->type == FieldType::kText) *static_cast<std::string*>(f->value) = std::move(text);
      return true;
    }
    if (c == 't' || c == 'f') {
      const bool value = c == 't';
      if (!Literal(value ? "true" : "false")) return false;
      if (f != nullptr && f->type == FieldType::kBool) *static_cast<bool*>(f->value) = value;
      return true;
    }
    if (c == 'n') return Literal("null");
    const size_t end = in_.find_first_of(",} \n\t\r", pos_);
    const std::string_view number = in_.substr(pos_, end == std::string_view::npos ? std::string_view::npos : end - pos_);
    pos_ += number.size();
    if (number.empty()) return false;
    if (number.find_first_of(".eE") == std::string_view::npos) {
      int64_t v = 0;
      const auto r = std::from_chars(number.data(), number.data() + number.size(), v);
      if (r.ec != std::errc() || r.ptr != number.data() + number.size()) return false;
      if (f != nullptr && f->type == FieldType::kInt) *static_cast<int64_t*>(f->value) = v;
      if (f != nullptr && f->type == FieldType::kReal) *static_cast<double*>(f->value) = static_cast<double>(v);
      return true;
    }
    double v = 0;
    const auto r = std::from_chars(number.data(), number.data() + number.size(), v);
    if (r.ec != std::errc() || r.ptr != number.data() + number.size()) return false;
    if (f != nullptr && f->type == FieldType::kReal) *static_cast<double*>(f->value) = v;
    return true;
  }

  std::string_view in_;
  bool assign_;
  size_t pos_ = 0;
};

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
  if (table.ephemeral && table.cold) {
    return Status::Invalid(
        fmt::format("table '{}' is declared both ephemeral (never stored) and cold (stored, not kept)",
                    table.name),
        table.name);
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
  std::string out;
  size_t text = 0;  // the text values' length: the rest of a row is a few bytes per field
  for (const FieldRef& f : fields) {
    if (f.type == FieldType::kText && !f.key) text += static_cast<const std::string*>(f.value)->size();
  }
  out.reserve(16 + text + 24 * fields.size());
  out += '{';
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
  // Checked first, so a row the fast path cannot read is not left half set.
  if (FlatReader(values, false).Read(fields) && FlatReader(values, true).Read(fields)) return;
  const nlohmann::json j = nlohmann::json::parse(values, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  for (const FieldRef& f : fields) {
    if (f.key) continue;
    auto it = j.find(std::string(f.name));
    if (it != j.end()) ReadValue(*it, f);
  }
}

}  // namespace qz
