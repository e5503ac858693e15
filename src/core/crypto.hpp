// qunzhu core: the few cryptographic primitives the engine needs (OpenSSL underneath), and the
// Base64 codec binary data arrives in through JSON.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"

namespace qz {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Whether `given` equals `expected`, in time that depends on their lengths only (comparing a
// presented token or signature with the real one leaks nothing of the real one's content).
bool ConstantTimeEquals(std::string_view given, std::string_view expected);

// `bytes` bytes from the OS CSPRNG, hex encoded (2 * bytes characters).
std::string RandomHex(size_t bytes);

// The bytes `text` encodes in standard Base64 (RFC 4648 section 4: A-Z a-z 0-9 + /). The '='
// padding may be omitted but, when present, must complete the last group of four; ASCII spaces,
// tabs and line breaks anywhere are skipped (wrapped output of `base64`). kInvalidArgument
// (without a field: the caller names it) for any other character, data after the padding, or
// a length no encoder produces; the message gives the byte offset.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace qz
