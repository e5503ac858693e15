#include "model/account.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text/utf8.hpp"

namespace qz {
namespace {

// The code point starting at s[i] (valid UTF-8 assumed); advances i past it.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[k])); };
  const char32_t b0 = byte(i);
  if (b0 < 0x80) {
    i += 1;
    return b0;
  }
  if (b0 < 0xE0) {
    const char32_t cp = ((b0 & 0x1F) << 6) | (byte(i + 1) & 0x3F);
    i += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    const char32_t cp = ((b0 & 0x0F) << 12) | ((byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
    i += 3;
    return cp;
  }
  const char32_t cp = ((b0 & 0x07) << 18) | ((byte(i + 1) & 0x3F) << 12) |
                      ((byte(i + 2) & 0x3F) << 6) | (byte(i + 3) & 0x3F);
  i += 4;
  return cp;
}

bool IsNameChar(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == '.' || c == '_' || c == '-') return true;
  return (c >= 0x3040 && c <= 0x30FF) ||    // hiragana, katakana
         (c >= 0x3400 && c <= 0x4DBF) ||    // CJK extension A
         (c >= 0x4E00 && c <= 0x9FFF) ||    // CJK unified ideographs
         (c >= 0xAC00 && c <= 0xD7AF) ||    // hangul syllables
         (c >= 0xF900 && c <= 0xFAFF) ||    // CJK compatibility ideographs
         (c >= 0x20000 && c <= 0x3134F);    // CJK extensions B..G
}

}  // namespace

std::string_view AccountRoleName(AccountRole role) {
  switch (role) {
    case AccountRole::kViewer: return "viewer";
    case AccountRole::kAssistant: return "assistant";
    case AccountRole::kOperator: return "operator";
    case AccountRole::kAdmin: return "admin";
    case AccountRole::kOwner: return "owner";
  }
  return "unknown";
}

std::optional<AccountRole> ParseAccountRole(std::string_view name) {
  for (const AccountRole role : kAccountRoles) {
    if (AccountRoleName(role) == name) return role;
  }
  return std::nullopt;
}

std::optional<AccountRole> AccountRoleFromInt(int64_t value) {
  for (const AccountRole role : kAccountRoles) {
    if (static_cast<int64_t>(role) == value) return role;
  }
  return std::nullopt;
}

std::string_view AccountRoleList() { return "viewer, assistant, operator, admin, owner"; }

AccountRole RoleInCommunity(AccountRole base, const CommunityRoles& roles, int64_t community_id) {
  const auto it = roles.find(community_id);
  return it == roles.end() ? base : it->second;
}

AccountRole BestRole(AccountRole base, const CommunityRoles& roles) {
  AccountRole best = base;
  for (const auto& [community, role] : roles) best = std::max(best, role);
  return best;
}

Status ValidateCommunityRole(AccountRole role, std::string_view field) {
  if (role != AccountRole::kOwner) return Status::Ok();
  return Status::Invalid(
      "owner is a global role: it cannot be given inside one community (viewer, assistant, "
      "operator, admin)",
      std::string(field));
}

Result<AccountRole> ParseCommunityRole(std::string_view name, std::string_view field) {
  const std::optional<AccountRole> role = ParseAccountRole(name);
  if (!role) {
    return Status::Invalid(fmt::format("'{}' is not a role (viewer, assistant, operator, admin)",
                                       Excerpt(name, 40)),
                           std::string(field));
  }
  QZ_RETURN_IF_ERROR(ValidateCommunityRole(*role, field));
  return *role;
}

Status ValidateAccountName(std::string_view name) {
  if (name.empty()) return Status::Invalid("an account name must not be empty", "name");
  if (!IsValidUtf8(name)) return Status::Invalid("an account name must be valid UTF-8", "name");
  size_t chars = 0;
  for (size_t i = 0; i < name.size();) {
    const char32_t c = NextCodePoint(name, i);
    if (!IsNameChar(c)) {
      return Status::Invalid(
          fmt::format("'{}': an account name is letters, digits, '.', '_', '-' or CJK characters",
                      Excerpt(name, 80)),
          "name");
    }
    ++chars;
  }
  if (chars > kMaxAccountNameChars) {
    return Status::Invalid(
        fmt::format("an account name is at most {} characters", kMaxAccountNameChars), "name");
  }
  return Status::Ok();
}

Status ValidateNewPassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes || password.size() > kMaxPasswordBytes) {
    return Status::Invalid(fmt::format("a password is {} to {} bytes", kMinPasswordBytes,
                                       kMaxPasswordBytes),
                           "password");
  }
  if (!IsValidUtf8(password)) return Status::Invalid("a password must be valid UTF-8", "password");
  for (const char ch : password) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      return Status::Invalid("a password must not contain control characters", "password");
    }
  }
  return Status::Ok();
}

}  // namespace qz
