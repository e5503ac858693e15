// qunzhu model: the word for a simdjson DOM value's type, for errors that say what a field held
// ("must be a string (got number)"). For the .cpp files that read JSON with simdjson: the event
// parser and the platforms' translation layers.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace qz {

inline std::string_view JsonTypeWord(simdjson::dom::element_type t) {
  using simdjson::dom::element_type;
  switch (t) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "value";
}

}  // namespace qz
