// qunzhu server: the operator console (web/, a Vue single-page app built by Vite) served at `/`
// beside the API. The built files are read into memory once, at start (a built console is a few
// MB; docs/console.md), so a request never touches the file system: a path is a key in a map,
// and no spelling of `..` can reach a file outside the console. Transport-free, like the routes.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

// One file of the built console, as it will be sent.
struct ConsoleFile {
  std::string content_type;
  std::string body;
  std::string gzip;  // the same bytes gzipped (the build's `name.gz` beside it); "" when none
  std::string etag;  // a strong validator of `body`: "\"<16 hex of its SHA-256>\""
};

// The files of a built console, by their path relative to its directory ("index.html",
// "assets/index-3f2a1b.js"). Immutable once loaded, so shared by every I/O thread.
class ConsoleFiles {
 public:
  // Limits on what Load reads (a built console is ~3 MB; these only stop a wrong --console
  // directory from filling memory).
  static constexpr size_t kMaxFiles = 2000;
  static constexpr size_t kMaxTotalBytes = 64u << 20;

  // Reads every regular file under `dir` (symbolic links and other files are skipped). A
  // directory that does not exist or has no index.html is no error: the console is "not built"
  // (built() false) and `/` says how to build it. Errors (kInvalidArgument, field "--console"):
  // `dir` is not a directory, a file cannot be read, or the limits above are passed.
  static Result<std::shared_ptr<const ConsoleFiles>> Load(const std::string& dir);
  // A console that is not built (what Load gives for a missing directory).
  static std::shared_ptr<const ConsoleFiles> NotBuilt(std::string dir);

  bool built() const { return files_.contains("index.html"); }
  const std::string& dir() const { return dir_; }
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const { return total_bytes_; }
  // The file at `relative` (no leading '/'), or null.
  const ConsoleFile* Find(std::string_view relative) const;

 private:
  std::string dir_;
  std::map<std::string, ConsoleFile, std::less<>> files_;
  size_t total_bytes_ = 0;
};

// The console's routes, all public (the page signs in through POST /api/v1/session):
//   GET /                      index.html (Cache-Control: no-cache, ETag, security headers)
//   GET /assets/{file}         a built asset: Cache-Control public, max-age=31536000, immutable
//                              (Vite names them by a hash of their content); unknown: 404
//   GET /{page}, /{page}/{id}  the single-page app's own routes (/groups, /sign-in, …): index.html;
//                              a last segment with a '.' is a file of the console's root
//                              (favicon.svg) or 404, never the page; a first segment the server
//                              keeps (api, assets, webhooks, j, healthz, metrics) is 404, never
//                              the page
// Deeper paths are not the console's (the API's rule holds there: 401 before 404). When the
// console is not built, `/` and the page routes answer 200 with a short plain-text note on how
// to build it. Gzipped variants are sent to clients that accept gzip. `console` must not be null.
Status AddConsoleRoutes(RouteTable& table, std::shared_ptr<const ConsoleFiles> console);

namespace console_internal {
// The Content-Type for a file name, by its extension (application/octet-stream when unknown).
std::string ContentTypeFor(std::string_view name);
// Whether an Accept-Encoding header value accepts gzip (a "gzip" or "*" coding with q > 0).
bool AcceptsGzip(std::string_view accept_encoding);
}  // namespace console_internal

}  // namespace qz
