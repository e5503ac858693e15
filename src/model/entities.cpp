#include "model/entities.hpp"

#include <array>

#include "core/enum_names.hpp"

namespace qz {
namespace {
constexpr std::array<std::string_view, 6> kGroupTypeNames = {
    "unspecified", "interest", "core_user", "learning", "conversion", "industry"};
}  // namespace

std::string_view GroupTypeName(GroupType type) { return EnumName(kGroupTypeNames, type); }

std::optional<GroupType> ParseGroupType(std::string_view name) {
  return EnumFromName<GroupType>(kGroupTypeNames, name);
}

}  // namespace qz
