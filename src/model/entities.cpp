#include "model/entities.hpp"

#include <array>

namespace qz {
namespace {
constexpr std::array<std::string_view, 6> kGroupTypeNames = {
    "unspecified", "interest", "core_user", "learning", "conversion", "industry"};
}  // namespace

std::string_view GroupTypeName(GroupType type) {
  return kGroupTypeNames[static_cast<size_t>(type)];
}

std::optional<GroupType> ParseGroupType(std::string_view name) {
  for (size_t i = 0; i < kGroupTypeNames.size(); ++i) {
    if (kGroupTypeNames[i] == name) return static_cast<GroupType>(i);
  }
  return std::nullopt;
}

}  // namespace qz
