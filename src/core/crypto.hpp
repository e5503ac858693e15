// qunzhu core: the few cryptographic primitives the engine needs (OpenSSL underneath).
#pragma once

#include <string>
#include <string_view>

namespace qz {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// `bytes` bytes from the OS CSPRNG, hex encoded (2 * bytes characters).
std::string RandomHex(size_t bytes);

}  // namespace qz
