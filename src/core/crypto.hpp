// qunzhu core: the few cryptographic primitives the engine needs (OpenSSL underneath; password
// hashing with libsodium), and the Base64 codec binary data arrives in through JSON.
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

// An argon2id hash of `password` in libsodium's self-describing string form
// ("$argon2id$v=19$m=…,t=…,p=…$salt$hash", at most 128 characters) with a random salt and
// libsodium's interactive limits (OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE: about 64 MiB and
// tens of milliseconds a call). kUnavailable when libsodium cannot start or the memory is not
// there. Call it off latency-sensitive threads.
Result<std::string> HashPassword(std::string_view password);

// Whether `password` is the one `hash` (from HashPassword, any limits) was made from. False for a
// malformed hash. As slow as HashPassword, whatever the outcome.
bool VerifyPassword(std::string_view hash, std::string_view password);

// The bytes `text` encodes in standard Base64 (RFC 4648 section 4: A-Z a-z 0-9 + /). The '='
// padding may be omitted but, when present, must complete the last group of four; ASCII spaces,
// tabs and line breaks anywhere are skipped (wrapped output of `base64`). kInvalidArgument
// (without a field: the caller names it) for any other character, data after the padding, or
// a length no encoder produces; the message gives the byte offset.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace qz
