#include "core/image/qr.hpp"

#include <fmt/format.h>
#include <png.h>
#include <zbar.h>  // under C++ it declares its C API in namespace zbar

#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <memory>

// clang-format off
#include <cstdio>    // before jpeglib.h, which uses FILE and size_t without including them
#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h, which it needs
// clang-format on

#include "core/text/utf8.hpp"

namespace qz {
namespace {

Status BadImage(std::string message) { return Status::Invalid(std::move(message), "image"); }

// An 8-bit grey (Y800) picture, rows top to bottom, no padding.
struct GrayImage {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<unsigned char> pixels;
};

Status CheckCanvas(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0) return BadImage("the image has no pixels");
  if (width * height > kMaxImagePixels) {
    return BadImage(fmt::format("{}x{} is more than {} megapixels", width, height,
                                kMaxImagePixels / 1'000'000));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// PNG, through libpng's simplified API: it catches libpng's own longjmp errors inside and
// answers 0 with a message, so nothing unwinds through this code.

Result<GrayImage> DecodePng(std::string_view bytes) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    Status st = BadImage(fmt::format("not a readable PNG: {}", image.message));
    png_image_free(&image);
    return st;
  }
  if (Status st = CheckCanvas(image.width, image.height); !st.ok()) {
    png_image_free(&image);
    return st;
  }
  GrayImage out;
  out.width = image.width;
  out.height = image.height;
  out.pixels.resize(static_cast<size_t>(image.width) * image.height);
  image.format = PNG_FORMAT_GRAY;
  // Transparent parts become white: a QR code drawn on a transparent canvas (dark modules over
  // nothing) must read as dark on light, as a viewer shows it.
  const png_color white = {255, 255, 255};
  // finish_read frees the decoder's state whether it succeeds or fails.
  if (!png_image_finish_read(&image, &white, out.pixels.data(),
                             static_cast<png_int_32>(image.width), nullptr)) {
    Status st = BadImage(fmt::format("corrupt or truncated PNG: {}", image.message));
    png_image_free(&image);
    return st;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JPEG, through libjpeg, whose errors call error_exit, which must not return: it longjmps back
// to RunJpeg. Everything the decoder touches lives in a JpegJob owned by the caller, and RunJpeg
// keeps no local that needs destroying, so the jump skips no destructor and leaves no value
// indeterminate.

struct JpegErrors {
  jpeg_error_mgr pub;  // first: libjpeg hands error_exit the jpeg_error_mgr* it was given
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

// What RunJpeg ends with. It builds no Status itself: GCC cannot tell that a std::string made
// between setjmp and longjmp survives (-Wclobbered), so the messages are made by the caller.
enum class JpegOutcome : uint8_t { kDecoded, kCorrupt, kCanvas };

struct JpegJob {
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  jpeg_progress_mgr progress;
  GrayImage image;
  JpegOutcome outcome = JpegOutcome::kDecoded;
  uint64_t width = 0, height = 0;
};

extern "C" void JpegErrorExit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (corrupt data libjpeg can skip) are tolerated and not printed, except a premature
// end of the data: libjpeg would pad the picture with grey, a truncated file is refused instead.
extern "C" void JpegEmitMessage(j_common_ptr cinfo, int msg_level) {
  if (msg_level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message, "the data ends too early");
    std::longjmp(errors->jump, 1);
  }
}

extern "C" void JpegOutputMessage(j_common_ptr /*cinfo*/) {}

// A progressive JPEG of a few KiB can hold thousands of scans, each a pass over the whole
// picture; real encoders write about ten. Past kMaxJpegScans the file is refused (the limit
// libjpeg-turbo's own TurboJPEG API applies).
constexpr int kMaxJpegScans = 500;
extern "C" void JpegProgress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->progressive_mode && d->input_scan_number > kMaxJpegScans) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message, "more than %d progressive scans",
                  kMaxJpegScans);
    std::longjmp(errors->jump, 1);
  }
}

// Decodes job.cinfo's source into job.image; false with job.status on failure. Always leaves
// job.cinfo destroyed.
bool RunJpeg(JpegJob& job, std::string_view bytes) {
  job.cinfo.err = jpeg_std_error(&job.errors.pub);
  job.errors.pub.error_exit = JpegErrorExit;
  job.errors.pub.emit_message = JpegEmitMessage;
  job.errors.pub.output_message = JpegOutputMessage;
  if (setjmp(job.errors.jump)) {
    jpeg_destroy_decompress(&job.cinfo);
    job.outcome = JpegOutcome::kCorrupt;
    return false;
  }
  jpeg_create_decompress(&job.cinfo);
  job.progress.progress_monitor = JpegProgress;
  job.cinfo.progress = &job.progress;
  jpeg_mem_src(&job.cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&job.cinfo, TRUE);
  job.width = job.cinfo.image_width;
  job.height = job.cinfo.image_height;
  if (job.width == 0 || job.height == 0 || job.width * job.height > kMaxImagePixels) {
    jpeg_destroy_decompress(&job.cinfo);
    job.outcome = JpegOutcome::kCanvas;
    return false;
  }
  // libjpeg converts grey, YCbCr and RGB to grey itself; CMYK cannot be and fails here.
  job.cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&job.cinfo);
  job.image.width = job.cinfo.output_width;
  job.image.height = job.cinfo.output_height;
  job.image.pixels.resize(static_cast<size_t>(job.image.width) * job.image.height);
  while (job.cinfo.output_scanline < job.cinfo.output_height) {
    JSAMPROW row =
        job.image.pixels.data() + static_cast<size_t>(job.cinfo.output_scanline) * job.image.width;
    jpeg_read_scanlines(&job.cinfo, &row, 1);
  }
  jpeg_finish_decompress(&job.cinfo);
  jpeg_destroy_decompress(&job.cinfo);
  return true;
}

Result<GrayImage> DecodeJpeg(std::string_view bytes) {
  // On the heap: the job holds libjpeg's state and a jmp_buf, a few KiB.
  auto job = std::make_unique<JpegJob>();
  if (!RunJpeg(*job, bytes)) {
    if (job->outcome == JpegOutcome::kCanvas) return CheckCanvas(job->width, job->height);
    return BadImage(std::string("corrupt or unsupported JPEG: ") + job->errors.message);
  }
  return std::move(job->image);
}

// ---------------------------------------------------------------------------------------------

// `s` with every byte that breaks UTF-8 replaced by U+FFFD, then cut to kMaxQrPayloadBytes.
std::string CleanPayload(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    const size_t bad = FirstInvalidUtf8(s);
    out.append(s.substr(0, bad));
    if (bad == s.size()) break;
    out.append("\xEF\xBF\xBD");
    s.remove_prefix(bad + 1);
  }
  return std::string(Utf8Prefix(out, kMaxQrPayloadBytes));
}

struct ScannerDeleter {
  void operator()(zbar::zbar_image_scanner_t* s) const { zbar::zbar_image_scanner_destroy(s); }
};
struct ZbarImageDeleter {
  void operator()(zbar::zbar_image_t* i) const { zbar::zbar_image_destroy(i); }
};

Result<std::vector<std::string>> ScanQr(const GrayImage& gray) {
  std::unique_ptr<zbar::zbar_image_scanner_t, ScannerDeleter> scanner(
      zbar::zbar_image_scanner_create());
  if (!scanner) return Status::Internal("zbar_image_scanner_create failed");
  // QR codes only: every other symbology would cost a pass and could only add noise.
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_NONE, zbar::ZBAR_CFG_ENABLE, 0);
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_QRCODE, zbar::ZBAR_CFG_ENABLE, 1);
  // Declared after the scanner, so destroyed before it (the image's symbols refer to it).
  std::unique_ptr<zbar::zbar_image_t, ZbarImageDeleter> image(zbar::zbar_image_create());
  if (!image) return Status::Internal("zbar_image_create failed");
  zbar::zbar_image_set_format(image.get(), zbar_fourcc('Y', '8', '0', '0'));
  zbar::zbar_image_set_size(image.get(), gray.width, gray.height);
  // Borrowed: no cleanup handler, `gray` outlives the image.
  zbar::zbar_image_set_data(image.get(), gray.pixels.data(), gray.pixels.size(), nullptr);
  if (zbar::zbar_scan_image(scanner.get(), image.get()) < 0) {
    return Status::Internal("zbar could not scan the image");
  }
  std::vector<std::string> payloads;
  for (const zbar::zbar_symbol_t* sym = zbar::zbar_image_first_symbol(image.get());
       sym != nullptr && payloads.size() < kMaxQrPayloads; sym = zbar::zbar_symbol_next(sym)) {
    if (zbar::zbar_symbol_get_type(sym) != zbar::ZBAR_QRCODE) continue;
    std::string payload = CleanPayload(
        std::string_view(zbar::zbar_symbol_get_data(sym), zbar::zbar_symbol_get_data_length(sym)));
    if (payload.empty()) continue;
    bool seen = false;
    for (const std::string& p : payloads) seen = seen || p == payload;
    if (!seen) payloads.push_back(std::move(payload));
  }
  return payloads;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<std::vector<std::string>> DecodeQrCodes(std::string_view image_bytes) {
  if (image_bytes.empty()) return BadImage("empty");
  if (image_bytes.size() > kMaxImageBytes) {
    return BadImage(fmt::format("{} bytes is more than the {} MiB accepted", image_bytes.size(),
                                kMaxImageBytes >> 20));
  }
  const bool png = StartsWith(image_bytes, "\x89PNG\r\n\x1a\n");
  if (!png && !StartsWith(image_bytes, "\xFF\xD8\xFF")) {
    return BadImage("not a PNG or JPEG file (unrecognised signature)");
  }
  Result<GrayImage> gray = png ? DecodePng(image_bytes) : DecodeJpeg(image_bytes);
  if (!gray.ok()) return gray.status();
  return ScanQr(*gray);
}

}  // namespace qz
