// qunzhu core: enums with wire names. One table of names per enum, indexed by the enum's value
// minus its first value; these look a name up in either direction.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace qz {

// The value named `name` in `names`, whose first entry names the value `first`.
template <typename E, size_t N>
std::optional<E> EnumFromName(const std::array<std::string_view, N>& names, std::string_view name,
                              int first = 0) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(static_cast<int>(i) + first);
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view EnumName(const std::array<std::string_view, N>& names, E value, int first = 0) {
  return names[static_cast<size_t>(static_cast<int>(value) - first)];
}

}  // namespace qz
