// The only translation unit of the client that includes Beast and Asio's TLS.
#include "platform/http/http_client.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <future>
#include <optional>
#include <set>
#include <thread>

namespace qz {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// A peer closes a keep-alive connection after some idle time of its own; one idle for longer
// than this is not reused (a request on it would most likely meet a closed socket).
constexpr auto kMaxIdle = std::chrono::seconds(20);

struct Connection {
  std::string origin;  // "https://host:port": reused only for the same
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  Clock::time_point idle_since;
  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

}  // namespace

Result<ParsedUrl> ParseHttpUrl(std::string_view url) {
  auto bad = [](std::string_view why) { return Status::Invalid(fmt::format("url {}", why), "url"); };
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("contains a space or control character");
  }
  ParsedUrl out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return bad("must start with http:// or https://");
  }
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return bad("must not contain user info");
  std::string_view host, port;
  if (authority.starts_with('[')) {  // an IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("has a bad port");
      port = after.substr(1);
      if (port.empty()) return bad("has a bad port");
    }
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("has a bad port");
    }
  }
  if (host.empty()) return bad("has no host");
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) > 65535 || std::stoi(std::string(port)) == 0) {
      return bad("has a bad port");
    }
  }
  out.host = std::string(host);
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  path = path.substr(0, path.find('#'));
  out.target = path.empty() ? "/" : path[0] == '?' ? "/" + std::string(path) : std::string(path);
  return out;
}

std::string HttpClientResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

struct HttpClient::Impl {
  class Op;

  explicit Impl(HttpClientOptions o) : options(std::move(o)) {
    tls_context.set_default_verify_paths();
    tls_context.set_verify_mode(asio::ssl::verify_peer);
    thread = std::thread([this] { ioc.run(); });
  }

  HttpClientOptions options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  asio::ssl::context tls_context{asio::ssl::context::tls_client};
  // The I/O thread's own: idle keep-alive connections (newest last) and the requests under way.
  std::vector<std::unique_ptr<Connection>> idle;
  std::set<Op*> in_flight;
  std::thread thread;

  std::unique_ptr<Connection> TakeIdle(const std::string& origin) {
    const auto now = Clock::now();
    std::erase_if(idle, [&](const auto& c) { return now - c->idle_since > kMaxIdle; });
    for (size_t i = idle.size(); i-- > 0;) {
      if (idle[i]->origin == origin) {
        auto c = std::move(idle[i]);
        idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(i));
        return c;
      }
    }
    return nullptr;
  }
  void KeepIdle(std::unique_ptr<Connection> c) {
    c->idle_since = Clock::now();
    idle.push_back(std::move(c));
    if (idle.size() > options.max_idle_connections) idle.erase(idle.begin());
  }
};

// One request, on the I/O thread from Start to Finish; kept alive by its pending handlers.
class HttpClient::Impl::Op : public std::enable_shared_from_this<Op> {
 public:
  using Promise = std::promise<Result<HttpClientResponse>>;
  Op(Impl& impl, const HttpClientRequest& request, ParsedUrl url, Promise done)
      : impl_(impl), request_(request), url_(std::move(url)), done_(std::move(done)),
        resolver_(impl.ioc), timer_(impl.ioc) {
    origin_ = fmt::format("{}://{}:{}", url_.tls ? "https" : "http", url_.host, url_.port);
  }

  void Start() {
    impl_.in_flight.insert(this);
    timer_.expires_after(request_.timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the request ended first
      self->timed_out_ = true;
      self->Abort();
    });
    req_ = {http::string_to_verb(request_.method), url_.target, 11};
    const bool default_port = url_.port == (url_.tls ? "443" : "80");
    const bool v6 = url_.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + url_.host + "]" : url_.host;
    req_.set(http::field::host, default_port ? host : host + ":" + url_.port);
    req_.set(http::field::user_agent, impl_.options.user_agent);
    for (const auto& [k, v] : request_.headers) req_.set(k, v);
    req_.body() = request_.body;
    if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") req_.prepare_payload();
    req_.keep_alive(true);
    conn_ = impl_.TakeIdle(origin_);
    reused_ = conn_ != nullptr;
    if (reused_) {
      Write();
    } else {
      Connect();
    }
  }

  // Closes what the request is waiting on; its handler then ends it.
  void Abort() {
    aborted_ = true;
    resolver_.cancel();
    if (conn_) {
      beast::error_code ignored;
      conn_->Lowest().socket().close(ignored);
    }
  }

 private:
  void Connect() {
    conn_ = std::make_unique<Connection>();
    conn_->origin = origin_;
    if (url_.tls) {
      conn_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(impl_.ioc, impl_.tls_context);
      // SNI, and the certificate must name the host.
      SSL_set_tlsext_host_name(conn_->tls->native_handle(), url_.host.c_str());
      conn_->tls->set_verify_callback(asio::ssl::host_name_verification(url_.host));
    } else {
      conn_->plain = std::make_unique<beast::tcp_stream>(impl_.ioc);
    }
    resolver_.async_resolve(url_.host, url_.port,
                            [self = shared_from_this()](beast::error_code ec, Tcp::resolver::results_type r) {
                              if (!ec && self->aborted_) ec = asio::error::operation_aborted;
                              if (ec) return self->Fail("resolve", ec);
                              self->conn_->Lowest().async_connect(
                                  r, [self](beast::error_code ec2, const Tcp::endpoint&) {
                                    if (!ec2 && self->aborted_) ec2 = asio::error::operation_aborted;
                                    if (ec2) return self->Fail("connect", ec2);
                                    self->Handshake();
                                  });
                            });
  }

  void Handshake() {
    if (!conn_->tls) return Write();
    conn_->tls->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->aborted_) ec = asio::error::operation_aborted;
      if (ec) return self->Fail("TLS handshake", ec);
      self->Write();
    });
  }

  void Write() {
    auto on_write = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->aborted_) ec = asio::error::operation_aborted;
      if (ec) return self->Fail("send", ec);
      self->Read();
    };
    if (conn_->tls) {
      http::async_write(*conn_->tls, req_, std::move(on_write));
    } else {
      http::async_write(*conn_->plain, req_, std::move(on_write));
    }
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(impl_.options.max_response_bytes);
    parser_->header_limit(64 * 1024);
    // The header first: Beast 1.74's async_read does not hold a Content-Length body to the
    // parser's body_limit (a chunked body it does), so the length is checked here.
    auto on_header = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->aborted_) ec = asio::error::operation_aborted;
      if (!ec && self->parser_->content_length().value_or(0) > self->impl_.options.max_response_bytes) {
        ec = http::error::body_limit;
      }
      if (ec) return self->Fail("receive", ec);
      self->ReadBody();
    };
    if (conn_->tls) {
      http::async_read_header(*conn_->tls, buffer_, *parser_, std::move(on_header));
    } else {
      http::async_read_header(*conn_->plain, buffer_, *parser_, std::move(on_header));
    }
  }

  void ReadBody() {
    auto on_read = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->aborted_) ec = asio::error::operation_aborted;
      if (ec) return self->Fail("receive", ec);
      self->Done();
    };
    if (conn_->tls) {
      http::async_read(*conn_->tls, buffer_, *parser_, std::move(on_read));
    } else {
      http::async_read(*conn_->plain, buffer_, *parser_, std::move(on_read));
    }
  }

  void Done() {
    http::response<http::string_body> res = parser_->release();
    HttpClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (res.keep_alive() && !aborted_) impl_.KeepIdle(std::move(conn_));
    Finish(std::move(out));
  }

  void Fail(std::string_view step, beast::error_code ec) {
    // A kept-alive connection the peer closed in the meantime: nothing came back, so the peer
    // never read the request; send it once more on a new connection.
    const bool peer_closed = !parser_ || !parser_->got_some();
    if (reused_ && !retried_ && !aborted_ && peer_closed && (step == "send" || step == "receive")) {
      retried_ = true;
      reused_ = false;
      buffer_.clear();
      parser_.reset();
      return Connect();
    }
    if (ec == http::error::body_limit) {
      return Finish(Status(Code::kPayloadTooLarge,
                           fmt::format("{} {}: the response is larger than {} bytes", request_.method, url_.host,
                                       impl_.options.max_response_bytes)));
    }
    const std::string why = timed_out_ ? fmt::format("timed out after {} ms", request_.timeout.count())
                            : aborted_ ? std::string("cancelled")
                                       : ec.message();
    // The host only, never the path: a Bot API token is part of it.
    Finish(Status(Code::kUnavailable, fmt::format("{} {}:{}: {} failed: {}", request_.method, url_.host, url_.port,
                                                  step, why)));
  }

  void Finish(Result<HttpClientResponse> result) {
    timer_.cancel();
    impl_.in_flight.erase(this);
    done_.set_value(std::move(result));
  }

  Impl& impl_;
  HttpClientRequest request_;
  ParsedUrl url_;
  std::string origin_;
  Promise done_;
  Tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::unique_ptr<Connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
  bool aborted_ = false;
  bool timed_out_ = false;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() {
  CancelAll();
  impl_->work.reset();
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->idle.clear(); });
  impl_->thread.join();
}

Result<HttpClientResponse> HttpClient::Send(const HttpClientRequest& request) {
  QZ_ASSIGN_OR_RETURN(ParsedUrl url, ParseHttpUrl(request.url));
  if (http::string_to_verb(request.method) == http::verb::unknown) {
    return Status::Invalid(fmt::format("unknown HTTP method \"{}\"", request.method), "method");
  }
  Impl::Op::Promise promise;
  auto answer = promise.get_future();
  auto op = std::make_shared<Impl::Op>(*impl_, request, std::move(url), std::move(promise));
  asio::post(impl_->ioc, [op] { op->Start(); });
  return answer.get();
}

void HttpClient::CancelAll() {
  asio::post(impl_->ioc, [impl = impl_.get()] {
    for (Impl::Op* op : impl->in_flight) op->Abort();
    impl->idle.clear();
  });
}

}  // namespace qz
