// qunzhu core/image: drawing QR codes (invite and live codes' pictures), PNG and SVG.
// libqrencode for the symbol, libpng for the picture.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace qz {

// The longest text EncodeQr accepts (a URL, in practice); QR codes hold up to ~2.3 KB at level M.
inline constexpr size_t kMaxQrTextBytes = 1024;

// A QR symbol: size x size modules, row by row, true = dark; without the quiet zone.
struct QrSymbol {
  int size = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<size_t>(y) * static_cast<size_t>(size) + static_cast<size_t>(x)]; }
};

// Encodes `text` (bytes, 8-bit mode) at error correction level M (15%: survives a print or a
// phone screen being photographed). Errors: kInvalidArgument (field "text") for an empty text or
// one longer than kMaxQrTextBytes.
Result<QrSymbol> EncodeQr(std::string_view text);

// `scale` pixels per module (1..32), a quiet zone of `margin` modules (the standard asks for 4).
// The PNG is 8-bit greyscale; the SVG draws the dark modules as one path, crisp at any size.
std::string QrPng(const QrSymbol& symbol, int scale = 8, int margin = 4);
std::string QrSvg(const QrSymbol& symbol, int scale = 8, int margin = 4);

}  // namespace qz
