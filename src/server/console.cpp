// The operator console's files, read once at start, and the public routes that serve them.
#include "server/console.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace qz {
namespace {

namespace fs = std::filesystem;

// What the page may load: its own scripts only (no inline script, no eval, no other origin).
// Styles may be inline: Element Plus and ECharts set style attributes from script.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
constexpr const char* kImmutable = "public, max-age=31536000, immutable";

// First path segments that belong to the server, never to the single-page app.
constexpr std::array<std::string_view, 6> kServerSegments = {"api",  "assets",  "webhooks",
                                                             "j",    "healthz", "metrics"};

constexpr const char* kNotBuiltText =
    "qunzhu is running, but its operator console is not built.\n"
    "\n"
    "Build it with `./qz build` (it needs Node.js and npm; the CMake option QZ_BUILD_CONSOLE\n"
    "puts the console in a directory `console` beside the binary), or start the server with\n"
    "`qunzhu serve --console DIR` where DIR holds a built console (`npm run build` in web/\n"
    "writes web/dist). See docs/console.md.\n"
    "\n"
    "The HTTP API is under /api/v1 (README.md).\n";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Headers every console answer carries; HTML gets the page's security policy too.
void AddSecurityHeaders(ApiResponse& res, bool html) {
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (!html) return;
  res.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("Referrer-Policy", "same-origin");
}

bool IsHtml(const ConsoleFile& file) { return file.content_type.starts_with("text/html"); }

// Whether If-None-Match names `etag` (or is "*").
bool Matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = Trim(if_none_match.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag || tag == "*") return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

// `file` as the answer to `request`: 304 when the client has it, gzipped when it accepts that.
ApiResponse FileResponse(const ApiRequest& request, const ConsoleFile& file,
                         const char* cache_control) {
  ApiResponse res;
  res.content_type = file.content_type;
  res.headers.emplace_back("Cache-Control", cache_control);
  res.headers.emplace_back("ETag", file.etag);
  AddSecurityHeaders(res, IsHtml(file));
  if (!file.gzip.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
  if (Matches(request.Header("if-none-match"), file.etag)) {
    res.status = 304;
    return res;
  }
  if (!file.gzip.empty() && console_internal::AcceptsGzip(request.Header("accept-encoding"))) {
    res.headers.emplace_back("Content-Encoding", "gzip");
    res.body = file.gzip;
  } else {
    res.body = file.body;
  }
  return res;
}

ApiResponse NotBuiltResponse() {
  ApiResponse res;
  res.content_type = "text/plain; charset=utf-8";
  res.body = kNotBuiltText;
  res.headers.emplace_back("Cache-Control", "no-cache");
  AddSecurityHeaders(res, /*html=*/true);
  return res;
}

// The single-page app: index.html, or the note on building it.
void RespondPage(Call& c, const ConsoleFiles& console) {
  const ConsoleFile* index = console.Find("index.html");
  c.Respond(index == nullptr ? NotBuiltResponse() : FileResponse(c.request(), *index, "no-cache"));
}

Status NoSuchPath() { return Status::NotFound("no such endpoint"); }

bool IsServerSegment(std::string_view segment) {
  return std::find(kServerSegments.begin(), kServerSegments.end(), segment) !=
         kServerSegments.end();
}

// GET /{page}[/{id}]: a page of the app, unless the path is the server's or names a file.
Status ServePage(Call& c, const ConsoleFiles& console, std::string_view last, bool root_level) {
  if (IsServerSegment(c.Param("page"))) return NoSuchPath();
  if (last.find('.') == std::string_view::npos) {
    RespondPage(c, console);
    return Status::Ok();
  }
  // A file: only those of the console's root (favicon.svg, index.html) are served at /NAME.
  if (!root_level || last.find('/') != std::string_view::npos) return NoSuchPath();
  const ConsoleFile* file = console.Find(last);
  if (file == nullptr) return NoSuchPath();
  c.Respond(FileResponse(c.request(), *file, "no-cache"));
  return Status::Ok();
}

Result<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad() || !in.is_open()) {
    return Status::Invalid(fmt::format("cannot read {}", path.string()), "--console");
  }
  return bytes;
}

}  // namespace

namespace console_internal {

std::string ContentTypeFor(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  }};
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find('/', dot) != std::string_view::npos) {
    return "application/octet-stream";
  }
  const std::string ext = Lower(name.substr(dot));
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return std::string(type);
  }
  return "application/octet-stream";
}

bool AcceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    std::string_view item = Trim(accept_encoding.substr(0, comma));
    const size_t semi = item.find(';');
    const std::string coding = Lower(Trim(item.substr(0, semi)));
    if (coding == "gzip" || coding == "*") {
      bool zero = false;  // "q=0", "q=0.0", "q=0.000": refused
      if (semi != std::string_view::npos) {
        std::string params = Lower(item.substr(semi + 1));
        params.erase(std::remove(params.begin(), params.end(), ' '), params.end());
        if (params.starts_with("q=0")) {
          zero = params.find_first_of("123456789", 3) == std::string::npos;
        }
      }
      if (!zero) return true;
    }
    if (comma == std::string_view::npos) break;
    accept_encoding.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace console_internal

std::shared_ptr<const ConsoleFiles> ConsoleFiles::NotBuilt(std::string dir) {
  auto console = std::make_shared<ConsoleFiles>();
  console->dir_ = std::move(dir);
  return console;
}

Result<std::shared_ptr<const ConsoleFiles>> ConsoleFiles::Load(const std::string& dir) {
  std::error_code ec;
  const fs::path root(dir);
  if (!fs::exists(root, ec)) return NotBuilt(dir);
  if (!fs::is_directory(root, ec)) {
    return Status::Invalid(fmt::format("{} is not a directory", dir), "--console");
  }
  // Every regular file, not following links; names relative to `root` with '/' separators.
  std::vector<std::pair<std::string, fs::path>> found;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    std::string relative = fs::relative(it->path(), root, ec).generic_string();
    if (ec) break;
    const std::string_view base = std::string_view(relative).substr(relative.rfind('/') + 1);
    if (base.starts_with('.')) continue;  // editors' and systems' files (.DS_Store)
    if (found.size() >= kMaxFiles) {
      return Status::Invalid(fmt::format("{} has more than {} files: is it a built console?", dir,
                                         kMaxFiles),
                             "--console");
    }
    found.emplace_back(std::move(relative), it->path());
  }
  if (ec) return Status::Invalid(fmt::format("cannot list {}: {}", dir, ec.message()), "--console");

  auto console = std::make_shared<ConsoleFiles>();
  console->dir_ = dir;
  std::set<std::string, std::less<>> names;
  for (const auto& f : found) names.insert(f.first);
  std::vector<std::pair<std::string, std::string>> gzipped;  // "x.js", bytes of "x.js.gz"
  for (const auto& [relative, path] : found) {
    QZ_ASSIGN_OR_RETURN(std::string bytes, ReadWhole(path));
    console->total_bytes_ += bytes.size();
    if (console->total_bytes_ > kMaxTotalBytes) {
      return Status::Invalid(fmt::format("{} holds more than {} MiB: is it a built console?", dir,
                                         kMaxTotalBytes >> 20),
                             "--console");
    }
    const std::string_view name(relative);
    // "x.js.gz" beside "x.js" is x.js's gzipped variant, not a file of its own.
    if (name.ends_with(".gz") && names.contains(name.substr(0, name.size() - 3))) {
      gzipped.emplace_back(relative.substr(0, relative.size() - 3), std::move(bytes));
      continue;
    }
    ConsoleFile file;
    file.content_type = console_internal::ContentTypeFor(name);
    file.etag = "\"" + Sha256Hex(bytes).substr(0, 16) + "\"";
    file.body = std::move(bytes);
    console->files_.emplace(relative, std::move(file));
  }
  for (auto& [relative, bytes] : gzipped) console->files_[relative].gzip = std::move(bytes);
  if (!console->built()) {
    spdlog::warn("{} has no index.html: the console is not served (see docs/console.md)", dir);
  }
  return std::shared_ptr<const ConsoleFiles>(std::move(console));
}

const ConsoleFile* ConsoleFiles::Find(std::string_view relative) const {
  auto it = files_.find(relative);
  return it == files_.end() ? nullptr : &it->second;
}

Status AddConsoleRoutes(RouteTable& table, std::shared_ptr<const ConsoleFiles> console) {
  if (console == nullptr) return Status::Invalid("no console", "console");
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/",
                                [console](Call& c) {
                                  RespondPage(c, *console);
                                  return Status::Ok();
                                },
                                RunOn::kIoThread, Access::kPublic}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/assets/{file}",
                                [console](Call& c) {
                                  const ConsoleFile* file =
                                      console->Find("assets/" + c.Param("file"));
                                  if (file == nullptr) return NoSuchPath();
                                  c.Respond(FileResponse(c.request(), *file, kImmutable));
                                  return Status::Ok();
                                },
                                RunOn::kIoThread, Access::kPublic}));
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/{page}",
                                [console](Call& c) {
                                  return ServePage(c, *console, c.Param("page"), true);
                                },
                                RunOn::kIoThread, Access::kPublic}));
  return table.Add({"GET", "/{page}/{id}",
                    [console](Call& c) { return ServePage(c, *console, c.Param("id"), false); },
                    RunOn::kIoThread, Access::kPublic});
}

}  // namespace qz
