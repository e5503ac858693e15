// qunzhu engine: typed module state. A module declares each of its tables once, as a plain struct
// with a `kTable` name and a `Fields` visitor; the engine stores every table through one generic
// seam (StoreTxn::PutModuleState rows: the qualified table "<module>.<table>", the key fields as
// a JSON array, the other fields as a JSON object), so no back end needs per-module SQL, replay
// rebuilds and compares it like the core state, and the API shows it as JSON.
//
//   struct Strike {                              // 违规记录: one row per member
//     static constexpr std::string_view kTable = "strikes";
//     int64_t member = 0;                        // key
//     int64_t count = 0;
//     TimeMs last = 0;
//     template <class V> void Fields(V& v) {
//       v.Key("member", member);
//       v.Value("count", count);
//       v.Value("last", last);
//     }
//   };
//
// A table whose rows only matter for a short while (a flood window, say) may declare
// `static constexpr bool kEphemeral = true;`: its rows live in the writer's memory only, are
// never written to the store, and so start empty after a restart and are not compared by replay.
//
// A table that only grows and is seldom read back on the writer (a record per decision, say)
// may declare `static constexpr bool kCold = true;`: its rows are stored and replayed like any
// other, but the writer keeps them in memory only until they are flushed and does not read them
// when it opens (EventLog::LoadStateWithout), so it holds none of them however many there are.
// A Find of a row no longer in memory reads it from the store (a point read of committed data),
// so it is correct but slower: a table read per message should not be cold.
//
// Field types: int64_t, double, bool, std::string. Field names are [a-z0-9_]. Changing a table
// later is safe: a stored field the struct no longer has is ignored, a field the stored row lacks
// (or holds with another type) keeps the struct's default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace qz {

enum class FieldType : uint8_t { kInt, kReal, kBool, kText };
std::string_view FieldTypeName(FieldType type);

// One field of a row, borrowed from the row it was collected from.
struct FieldRef {
  std::string_view name;
  FieldType type;
  bool key;
  void* value;  // int64_t*, double*, bool* or std::string* by `type`
};

// The visitor a row's Fields() is called with: collects the fields in declaration order.
class FieldCollector {
 public:
  FieldCollector() { fields_.reserve(24); }  // a row's fields without growing, for most rows
  void Key(std::string_view name, int64_t& v) { Add(name, FieldType::kInt, true, &v); }
  void Key(std::string_view name, std::string& v) { Add(name, FieldType::kText, true, &v); }
  void Value(std::string_view name, int64_t& v) { Add(name, FieldType::kInt, false, &v); }
  void Value(std::string_view name, double& v) { Add(name, FieldType::kReal, false, &v); }
  void Value(std::string_view name, bool& v) { Add(name, FieldType::kBool, false, &v); }
  void Value(std::string_view name, std::string& v) { Add(name, FieldType::kText, false, &v); }

  const std::vector<FieldRef>& fields() const { return fields_; }

 private:
  void Add(std::string_view name, FieldType type, bool key, void* value) {
    fields_.push_back({name, type, key, value});
  }
  std::vector<FieldRef> fields_;
};

struct FieldInfo {
  std::string name;
  FieldType type;
  bool key;
  friend bool operator==(const FieldInfo&, const FieldInfo&) = default;
};

// Where a table's rows live (see the header comment).
enum class RowLife : uint8_t {
  kStored,     // in the store, and in the writer's memory
  kEphemeral,  // in the writer's memory only
  kCold,       // in the store, and in the writer's memory only until flushed
};

// A table as declared: its name (unqualified) and fields in declaration order.
struct TableInfo {
  std::string name;
  std::vector<FieldInfo> fields;
  bool ephemeral = false;  // kept in memory only (see the header comment)
  bool cold = false;       // stored, and dropped from the writer's memory once flushed
  RowLife life() const { return ephemeral ? RowLife::kEphemeral : cold ? RowLife::kCold : RowLife::kStored; }
};

// Checks a declaration: a name and field names of [a-z0-9_]{1,64}, at least one key field,
// no field twice, not both ephemeral and cold. The field is the table's name.
Status ValidateTable(const TableInfo& table);

// The stored forms. EncodeKey: the key fields as a compact JSON array in declaration order
// (`[42,"abc"]`); EncodeValues: the other fields as a compact JSON object in declaration order.
std::string EncodeKey(const std::vector<FieldRef>& fields);
std::string EncodeValues(const std::vector<FieldRef>& fields);
// Fills the fields from the stored forms (see the header comment for what is tolerated); false
// when `key` is not a JSON array matching the key fields.
bool DecodeKey(std::string_view key, const std::vector<FieldRef>& fields);
void DecodeValues(std::string_view values, const std::vector<FieldRef>& fields);
// Copies the key fields of `from` into those of `to`: the fields of two rows of one type.
void CopyKeyFields(const std::vector<FieldRef>& from, const std::vector<FieldRef>& to);

template <typename Row>
std::vector<FieldRef> CollectFields(Row& row) {
  FieldCollector c;
  row.Fields(c);
  return c.fields();
}

// The declaration of Row's table, for Module::tables().
template <typename Row>
TableInfo DescribeTable() {
  Row row{};
  TableInfo info{std::string(Row::kTable), {}};
  for (const FieldRef& f : CollectFields(row)) info.fields.push_back({std::string(f.name), f.type, f.key});
  if constexpr (requires { Row::kEphemeral; }) info.ephemeral = Row::kEphemeral;
  if constexpr (requires { Row::kCold; }) info.cold = Row::kCold;
  return info;
}

// Row's stored key (the key fields of `row`).
template <typename Row>
std::string RowKey(const Row& row) {
  // Fields() takes a mutable row so one visitor serves reading and writing; encoding only reads.
  return EncodeKey(CollectFields(const_cast<Row&>(row)));
}

// A stored row read back (for routes and tools that read module state from the store): null when
// `key` does not match Row's key fields.
template <typename Row>
std::optional<Row> DecodeRow(std::string_view key, std::string_view values) {
  Row row{};
  const auto fields = CollectFields(row);
  if (!DecodeKey(key, fields)) return std::nullopt;
  DecodeValues(values, fields);
  return row;
}

}  // namespace qz
