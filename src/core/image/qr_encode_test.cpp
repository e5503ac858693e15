#include "core/image/qr_encode.hpp"

#include <gtest/gtest.h>


#include "core/image/qr.hpp"

namespace qz {
namespace {

// The real round trip: what we draw, zbar reads back.
TEST(QrEncode, PngDecodesToTheSameText) {
  for (std::string_view text : {std::string_view("https://qz.example.com/j/Ab3dE9"),
                                std::string_view("https://例子.中国/j/7天成长营?ref=u1&c=海报")}) {
    auto symbol = EncodeQr(text);
    ASSERT_TRUE(symbol.ok()) << symbol.status().ToString();
    EXPECT_GE(symbol->size, 21);
    const std::string png = QrPng(*symbol);
    ASSERT_FALSE(png.empty());
    EXPECT_EQ(png.substr(1, 3), "PNG");
    auto decoded = DecodeQrCodes(png);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_EQ(decoded->size(), 1u);
    EXPECT_EQ((*decoded)[0], text);
  }
}

TEST(QrEncode, SvgDrawsEveryDarkModule) {
  auto symbol = EncodeQr("hello");
  ASSERT_TRUE(symbol.ok());
  const std::string svg = QrSvg(*symbol, 4, 4);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  const int side = symbol->size + 8;
  EXPECT_NE(svg.find("viewBox=\"0 0 " + std::to_string(side) + " " + std::to_string(side) + "\""), std::string::npos);
  // Every run "M x yhNv1h-Nz" covers N dark modules; together, exactly the dark ones.
  size_t dark = 0;
  for (bool d : symbol->dark) dark += d ? 1 : 0;
  size_t drawn = 0;
  const std::string path = svg.substr(svg.find(" d=\"") + 4);
  for (size_t at = path.find('h'); at != std::string::npos; at = path.find('h', path.find('z', at))) {
    drawn += std::stoul(path.substr(at + 1));  // "M x yhNv1h-Nz": N modules
  }
  EXPECT_EQ(drawn, dark);
}

TEST(QrEncode, EmptyAndTooLongAreRefused) {
  EXPECT_EQ(EncodeQr("").status().field(), "text");
  EXPECT_EQ(EncodeQr(std::string(kMaxQrTextBytes + 1, 'a')).status().field(), "text");
  EXPECT_TRUE(EncodeQr(std::string(kMaxQrTextBytes, 'a')).ok());
}

}  // namespace
}  // namespace qz
