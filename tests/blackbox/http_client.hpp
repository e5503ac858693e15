// Black-box test support: a tiny blocking HTTP/1.1 client for 127.0.0.1. One request per
// connection (`Connection: close`); the response body is framed by Content-Length, chunked
// transfer coding, or the end of the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qzbb {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;                              // 0: no response (see `error`)
  std::string error;                           // transport error, empty when a response came
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  bool ok() const { return error.empty() && status != 0; }
  std::string Header(const std::string& name) const;  // "" when absent; any case
  // The body as JSON; a `discarded` value when it is not JSON.
  nlohmann::json Json() const;
  // "STATUS body" (or the transport error), for failure messages.
  std::string Describe() const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  Headers headers;
  // Sent as is; Content-Length is added unless a Content-Length or Transfer-Encoding header is
  // given. If the server answers before the body is complete (e.g. 413), sending stops and the
  // answer is read.
  std::string body;
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  // Half-close the connection once the request is written (to send less than Content-Length
  // says and then end, as a client that died mid-upload would).
  bool shutdown_after_send = false;
};

HttpResponse Send(uint16_t port, const HttpRequest& request);

// Conveniences. `token` empty: no Authorization header.
HttpResponse Get(uint16_t port, const std::string& target, const std::string& token);
HttpResponse Post(uint16_t port, const std::string& target, const std::string& token,
                  const std::string& content_type, std::string body);
HttpResponse PostJson(uint16_t port, const std::string& token, const nlohmann::json& events);

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace qzbb
