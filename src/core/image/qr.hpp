// qunzhu core/image: finding QR codes in a picture. Whoever holds an image's bytes (a platform
// adapter, the sandbox API) calls DecodeQrCodes at the edge and puts the payloads into the
// event's `qr` field; the bytes themselves never enter the event log. libpng, libjpeg, zbar.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace qz {

// Bounds of one call: larger inputs are refused before any decoding, so a picture can neither
// exhaust memory (a small PNG may claim a huge canvas) nor hold a thread for long.
inline constexpr size_t kMaxImageBytes = 8 << 20;      // 8 MiB of file
inline constexpr size_t kMaxImagePixels = 40'000'000;  // 40 megapixels
// Bounds of the answer; the canonical event's `qr` field accepts the same (model/event.hpp).
inline constexpr size_t kMaxQrPayloads = 8;
inline constexpr size_t kMaxQrPayloadBytes = 2048;

// The payloads of the QR codes found in `image_bytes`, a PNG or JPEG file (told apart by their
// signatures, not by any name or media type), in the order the scanner found them: distinct,
// non-empty, at most kMaxQrPayloads, each valid UTF-8 (an invalid byte becomes U+FFFD) and cut
// to at most kMaxQrPayloadBytes without splitting a character. An image without a QR code gives
// an empty list. Only QR codes are looked for (no other barcode symbology).
//
// Errors, all kInvalidArgument with field "image": an empty or too large input, a format other
// than PNG or JPEG, a canvas above kMaxImagePixels, a corrupt or truncated file, a JPEG colour
// space other than grey or YCbCr/RGB. Malformed input never crashes and leaks nothing.
// Thread-safe (no shared state; each call makes its own decoder and scanner). Runs on the
// caller's thread and may take a while on a large picture (a full-resolution scan).
Result<std::vector<std::string>> DecodeQrCodes(std::string_view image_bytes);

}  // namespace qz
