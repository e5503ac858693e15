#include "core/crypto.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace qz {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

// The 6-bit value of each Base64 character; -1 for every other byte.
constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> v{};
  v.fill(-1);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    v[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return v;
}();

// sodium_init once per process (it is thread-safe itself, but says once whether it can run).
bool SodiumReady() {
  static const bool kReady = sodium_init() >= 0;
  return kReady;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  // Failure here means the OS has no entropy source: nothing sensible can continue.
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: no secure random source");
  }
  return Hex(buf.data(), buf.size());
}

Result<std::string> HashPassword(std::string_view password) {
  if (!SodiumReady()) return Status::Unavailable("libsodium cannot start");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Status::Unavailable("hashing a password failed: not enough memory");
  }
  return std::string(out.data());
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  if (!SodiumReady() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);  // libsodium reads a NUL-terminated string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

Result<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t bits = 0;  // the undelivered low bits, `nbits` of them
  int nbits = 0;
  size_t symbols = 0;  // characters of the alphabet seen
  size_t padding = 0;  // '=' seen
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int8_t value = kBase64Values[static_cast<unsigned char>(c)];
    if (value < 0) {
      return Status::Invalid(
          fmt::format("not Base64: byte {} (0x{:02x}) is outside the "
                      "alphabet A-Z a-z 0-9 + /",
                      i, static_cast<unsigned char>(c)));
    }
    if (padding > 0) {
      return Status::Invalid(fmt::format("not Base64: data after the '=' padding at byte {}", i));
    }
    ++symbols;
    bits = ((bits << 6) | static_cast<uint32_t>(value)) & 0xFFFF;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xFF));
    }
  }
  // A last group of one character holds no whole byte; padding, when present, completes the
  // group of four (two '=' after two characters, one after three).
  if (symbols % 4 == 1) {
    return Status::Invalid(
        fmt::format("not Base64: {} characters, a length no encoder produces", symbols));
  }
  if (padding > 0 && (symbols % 4 == 0 || (symbols + padding) % 4 != 0)) {
    return Status::Invalid(fmt::format("not Base64: {} '=' after {} characters", padding, symbols));
  }
  return out;
}

}  // namespace qz
