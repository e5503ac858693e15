// qunzhu platform/http: the HTTP/1.1 client adapters call their platforms' APIs with (Telegram's
// Bot API, OneBot's HTTP API). Blocking calls for the adapters' own threads and delivery's, over
// one I/O thread per client that keeps idle connections alive for reuse; http and https (the
// system's trusted certificates, the peer's name checked). Beast and OpenSSL stay in the .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace qz {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// An absolute http:// or https:// URL split for a request. `target` is the path and query
// ("/" when the URL has none).
struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;  // "80" / "443" when the URL names none
  std::string target;
};
// kInvalidArgument (field "url") for anything but an absolute http(s) URL with a host, and for
// URLs with user info, spaces or control characters.
Result<ParsedUrl> ParseHttpUrl(std::string_view url);

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;  // Host, Content-Length and User-Agent are set by the client
  std::string body;
  // The whole exchange (connect, TLS, write, read); a long poll sets its poll time plus margin.
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
};

struct HttpClientResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased
  std::string body;
  std::string Header(std::string_view name) const;  // "" when absent; `name` lower-case
};

struct HttpClientOptions {
  size_t max_response_bytes = 16 << 20;  // a larger body is an error, not a truncation
  size_t max_idle_connections = 8;       // kept per client for reuse
  std::string user_agent = "qunzhu";
};

// Thread-safe: Send from any number of threads at once (each waits for its own answer).
// Errors: kInvalidArgument for a bad URL or method; kUnavailable for transport failures (refused,
// reset, timed out, TLS or certificate failure, cancelled), the message naming the host and the
// step; kPayloadTooLarge for a response over max_response_bytes. An HTTP error status is a
// response, not an error. A request on a reused connection that the peer had closed (nothing
// read back) is sent once more on a new connection.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();  // cancels what is in flight and joins the I/O thread
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpClientResponse> Send(const HttpClientRequest& request);

  // Ends every request in flight with kUnavailable ("cancelled") and drops idle connections; later
  // requests run normally. For Stop(): a long poll must not hold shutdown up.
  void CancelAll();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qz
