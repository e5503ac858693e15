// qunzhu core: the plain identifiers operators and modules choose (invite codes, broadcast ids,
// schedule and course names) that go into URLs, row keys and timer keys as they are.
#pragma once

#include <cstddef>
#include <string_view>

namespace qz {

// `s` is min_bytes..max_bytes of ASCII letters, digits and the characters in `extra`.
constexpr bool IsToken(std::string_view s, size_t min_bytes, size_t max_bytes, std::string_view extra = "_-") {
  if (s.size() < min_bytes || s.size() > max_bytes) return false;
  for (const char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace qz
