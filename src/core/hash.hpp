// qunzhu core: FNV-1a (64-bit), a hash that is the same on every build and machine (unlike
// std::hash): for what is stored or must come out the same in `replay` (text fingerprints,
// derived numbers, file checksums). Not for adversarial input in hash tables.
#pragma once

#include <cstdint>
#include <string_view>

namespace qz {

inline constexpr uint64_t kFnv1a64Offset = 14695981039346656037ULL;

// `seed` continues a hash (pass a previous result to hash several pieces as one).
constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t seed = kFnv1a64Offset) {
  uint64_t h = seed;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace qz
