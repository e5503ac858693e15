#include "core/image/qr_encode.hpp"

#include <fmt/format.h>
#include <png.h>
#include <qrencode.h>

#include <algorithm>
#include <memory>

namespace qz {

Result<QrSymbol> EncodeQr(std::string_view text) {
  if (text.empty()) return Status::Invalid("must not be empty", "text");
  if (text.size() > kMaxQrTextBytes) {
    return Status::Invalid(fmt::format("{} bytes is longer than {}", text.size(), kMaxQrTextBytes), "text");
  }
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeData(static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0,
                        QR_ECLEVEL_M),
      &QRcode_free);
  if (code == nullptr) return Status::Internal("libqrencode could not encode the text");
  QrSymbol symbol;
  symbol.size = code->width;
  symbol.dark.resize(static_cast<size_t>(code->width) * static_cast<size_t>(code->width));
  for (size_t i = 0; i < symbol.dark.size(); ++i) symbol.dark[i] = (code->data[i] & 1) != 0;  // bit 0: dark
  return symbol;
}

std::string QrPng(const QrSymbol& symbol, int scale, int margin) {
  scale = std::clamp(scale, 1, 32);
  margin = std::clamp(margin, 0, 16);
  const int side = (symbol.size + 2 * margin) * scale;
  std::vector<uint8_t> pixels(static_cast<size_t>(side) * static_cast<size_t>(side), 0xFF);
  for (int y = 0; y < symbol.size; ++y) {
    for (int x = 0; x < symbol.size; ++x) {
      if (!symbol.at(x, y)) continue;
      for (int dy = 0; dy < scale; ++dy) {
        uint8_t* row = pixels.data() + static_cast<size_t>((y + margin) * scale + dy) * static_cast<size_t>(side);
        std::fill_n(row + (x + margin) * scale, scale, uint8_t{0});
      }
    }
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(side);
  image.height = static_cast<png_uint_32>(side);
  image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t bytes = 0;
  // The simplified API: sizes the output first, then writes it; no setjmp on our side.
  if (png_image_write_to_memory(&image, nullptr, &bytes, 0, pixels.data(), 0, nullptr) == 0) return {};
  std::string out(bytes, '\0');
  if (png_image_write_to_memory(&image, out.data(), &bytes, 0, pixels.data(), 0, nullptr) == 0) return {};
  out.resize(bytes);
  return out;
}

std::string QrSvg(const QrSymbol& symbol, int scale, int margin) {
  scale = std::clamp(scale, 1, 32);
  margin = std::clamp(margin, 0, 16);
  const int side = symbol.size + 2 * margin;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{0}\" viewBox=\"0 0 {1} {1}\" "
      "shape-rendering=\"crispEdges\"><rect width=\"{1}\" height=\"{1}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
      side * scale, side);
  for (int y = 0; y < symbol.size; ++y) {
    for (int x = 0; x < symbol.size;) {
      if (!symbol.at(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < symbol.size && symbol.at(x + run, y)) ++run;
      fmt::format_to(std::back_inserter(out), "M{} {}h{}v1h-{}z", x + margin, y + margin, run, run);
      x += run;
    }
  }
  out += "\"/></svg>\n";
  return out;
}

}  // namespace qz
