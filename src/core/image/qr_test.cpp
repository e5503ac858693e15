// Tests of DecodeQrCodes on the fixtures of testdata/ (made once with qrencode and ImageMagick:
// wechat.png a 1-bit palette PNG, qq.jpg a colour JPEG on a tinted background, two.png an RGBA
// PNG with two codes on a transparent canvas, noqr.png a gradient) and on damaged copies of them.
#include "core/image/qr.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "core/text/utf8.hpp"

namespace qz {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(QZ_QR_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char ch : data) {
    crc ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void PutBe32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
uint32_t GetBe32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Recomputes every chunk's CRC, so a mutated PNG gets past the checksum into the decoder.
void FixPngCrcs(std::string& png) {
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const uint32_t len = GetBe32(png, pos);
    if (len > png.size() - pos - 12) return;  // the length itself was mutated
    PutBe32(png, pos + 8 + len, Crc32(std::string_view(png).substr(pos + 4, 4 + len)));
    pos += 12 + len;
  }
}

// A PNG of a header (grey, 8 bits) declaring `width` x `height` and no pixel data.
std::string PngHeader(uint32_t width, uint32_t height) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr(25, '\0');
  PutBe32(ihdr, 0, 13);
  ihdr.replace(4, 4, "IHDR");
  PutBe32(ihdr, 8, width);
  PutBe32(ihdr, 12, height);
  ihdr[16] = 8;  // bit depth; colour type 0, compression, filter, interlace 0
  PutBe32(ihdr, 21, Crc32(std::string_view(ihdr).substr(4, 17)));
  // An empty IDAT and IEND: libpng reads the header up to the first IDAT.
  std::string tail(24, '\0');
  tail.replace(4, 4, "IDAT");
  PutBe32(tail, 8, Crc32("IDAT"));
  tail.replace(16, 4, "IEND");
  PutBe32(tail, 20, Crc32("IEND"));
  return png + ihdr + tail;
}

void ExpectImageError(const Result<std::vector<std::string>>& r, std::string_view words) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "image");
  EXPECT_THAT(r.status().message(), HasSubstr(std::string(words)));
}

TEST(DecodeQrCodesTest, ReadsAPalettePng) {
  auto r = DecodeQrCodes(Fixture("wechat.png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r, ElementsAre("https://u.wechat.com/abc"));
}

TEST(DecodeQrCodesTest, ReadsAColourJpeg) {
  auto r = DecodeQrCodes(Fixture("qq.jpg"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r, ElementsAre("https://qm.qq.com/q/Ab12Cd"));
}

TEST(DecodeQrCodesTest, ReadsEveryCodeOnATransparentCanvas) {
  // Transparent pixels must count as white: on black the codes' dark modules would vanish.
  auto r = DecodeQrCodes(Fixture("two.png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r, UnorderedElementsAre("WIFI:S:cafe;T:WPA;P:secret;;", "加微信 wxid_abc123"));
}

TEST(DecodeQrCodesTest, APictureWithoutACodeGivesNothing) {
  auto r = DecodeQrCodes(Fixture("noqr.png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST(DecodeQrCodesTest, RefusesWhatIsNotAPngOrJpeg) {
  ExpectImageError(DecodeQrCodes(""), "empty");
  ExpectImageError(DecodeQrCodes("GIF89a\x01\x00\x01\x00"), "not a PNG or JPEG");
  ExpectImageError(DecodeQrCodes("hello, world"), "not a PNG or JPEG");
  ExpectImageError(DecodeQrCodes(std::string("\x89PNG\r\n\x1a\n") + "garbage garbage garbage"),
                   "PNG");
  ExpectImageError(DecodeQrCodes("\xFF\xD8\xFF garbage garbage garbage"), "JPEG");
}

TEST(DecodeQrCodesTest, RefusesTruncatedFiles) {
  for (const char* name : {"wechat.png", "qq.jpg", "two.png"}) {
    const std::string whole = Fixture(name);
    // Cut inside the pixel data. (A PNG that loses only its end chunk and the zlib checksum
    // still has every pixel, and is read.)
    for (size_t keep : {whole.size() / 4, whole.size() / 2, whole.size() * 3 / 4}) {
      SCOPED_TRACE(std::string(name) + " cut to " + std::to_string(keep));
      ExpectImageError(DecodeQrCodes(std::string_view(whole).substr(0, keep)), "");
    }
  }
}

TEST(DecodeQrCodesTest, RefusesTooManyBytesBeforeDecoding) {
  std::string big = Fixture("wechat.png");
  big.resize(kMaxImageBytes + 1, '\0');
  ExpectImageError(DecodeQrCodes(big), "MiB");
}

TEST(DecodeQrCodesTest, RefusesTooManyPixelsBeforeDecoding) {
  // 10000 x 5000 = 50 megapixels declared by a header of a few bytes.
  ExpectImageError(DecodeQrCodes(PngHeader(10000, 5000)), "megapixels");
  // Just under the limit the header is accepted and the missing pixel data is the error.
  auto r = DecodeQrCodes(PngHeader(8000, 5000));
  ExpectImageError(r, "PNG");
  EXPECT_THAT(r.status().message(), ::testing::Not(HasSubstr("megapixels")));

  // The same JPEG with its frame header (SOF0) claiming 10000 x 5000.
  std::string jpeg = Fixture("qq.jpg");
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 5] = static_cast<char>(5000 >> 8);
  jpeg[sof + 6] = static_cast<char>(5000 & 0xFF);
  jpeg[sof + 7] = static_cast<char>(10000 >> 8);
  jpeg[sof + 8] = static_cast<char>(10000 & 0xFF);
  ExpectImageError(DecodeQrCodes(jpeg), "megapixels");
}

// Thousands of damaged copies of the fixtures (bytes flipped, runs overwritten, cut short; PNG
// checksums recomputed so the damage reaches the decoder), from a fixed seed: each either
// decodes to a well-formed answer or is refused as a bad image. Run under ASan in CI, this is
// also the leak and memory-safety check of the error paths.
TEST(DecodeQrCodesTest, DamagedFilesAreAnsweredOrRefusedNeverCrash) {
  const std::array<std::string, 3> originals = {Fixture("wechat.png"), Fixture("qq.jpg"),
                                                Fixture("two.png")};
  std::mt19937 rng(20240601);
  int decoded = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string& original = originals[round % originals.size()];
    std::string bytes = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t at = 8 + rng() % (bytes.size() - 8);  // keep the signature
      switch (rng() % 4) {
        case 0:
          bytes[at] = static_cast<char>(bytes[at] ^ (1u << (rng() % 8)));
          break;
        case 1:
          bytes[at] = static_cast<char>(rng());
          break;
        case 2:
          for (size_t i = at; i < bytes.size() && i < at + 16; ++i) {
            bytes[i] = static_cast<char>(rng() % 2 ? 0xFF : 0x00);
          }
          break;
        default:
          bytes.resize(std::max<size_t>(at, 9));
          break;
      }
    }
    if (round % originals.size() != 1) FixPngCrcs(bytes);
    auto r = DecodeQrCodes(bytes);
    if (r.ok()) {
      ++decoded;
      ASSERT_LE(r->size(), kMaxQrPayloads);
      for (const std::string& p : *r) {
        EXPECT_FALSE(p.empty());
        EXPECT_LE(p.size(), kMaxQrPayloadBytes);
        EXPECT_TRUE(IsValidUtf8(p)) << "round " << round;
      }
    } else {
      ++refused;
      ASSERT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
      ASSERT_EQ(r.status().field(), "image");
    }
  }
  // Both outcomes occur: the loop really reached the decoders, not only the signature check.
  EXPECT_GT(decoded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace qz
