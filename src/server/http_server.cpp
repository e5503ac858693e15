// The server library's HTTP side over Beast (its WebSockets: websocket_session.cpp).
#include "server/http_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/api.hpp"
#include "server/websocket_session.hpp"

namespace qz {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using Tcp = net::ip::tcp;

constexpr size_t kHeaderLimit = 16 * 1024;
// After an error response whose request body was not read (413), keep reading and discarding
// for a while before closing, so the peer sees the response rather than a connection reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerMaxBytes = 4 << 20;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

class Session;

}  // namespace

struct HttpServer::Impl {
  explicit Impl(ServerOptions opts)
      : options(std::move(opts)),
        ioc(options.io_threads),
        pool(static_cast<size_t>(options.blocking_threads)),
        acceptor(net::make_strand(ioc)),
        accept_retry(acceptor.get_executor()) {}

  ~Impl() {
    // The Api's tasks run on the pool; none may outlive the Api (Stop joined it normally).
    pool.join();
  }

  Status Listen();
  void Run();
  void Stop();
  void DoAccept();
  void OnAccept(beast::error_code ec, Tcp::socket socket);
  // A session leaves the registry when it is destroyed (any thread).
  void Unregister(Session* session, const std::string& address) {
    std::lock_guard lock(mu);
    sessions.erase(session);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
  }

  const ServerOptions options;
  net::io_context ioc;
  net::thread_pool pool;  // the blocking pool: Store calls, Ingest::SetPlaybook
  MetricsRegistry own_metrics;  // used when Start was given none; outlives `api`
  std::unique_ptr<Api> api;     // set by Start before the first accept
  Tcp::acceptor acceptor;       // on its own strand
  net::steady_timer accept_retry;  // same strand as the acceptor
  uint16_t port = 0;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};  // read by sessions without the lock
  WebSocketSessions websockets;  // connections routes took over as WebSockets

  std::mutex mu;  // guards sessions, per_address, stopped
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<std::string, size_t> per_address;  // open sessions by remote address
  bool stopped = false;
};

namespace {

// One connection. All its handlers run on its strand (`strand_`); the only members touched from
// elsewhere are `strand_` (immutable) and the registry entry (under Impl::mu).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Tcp::socket&& socket, std::string address, HttpServer::Impl& server)
      : stream_(std::move(socket)),
        strand_(stream_.get_executor()),
        server_(server),
        address_(std::move(address)) {}

  ~Session() {
    if (registered_) server_.Unregister(this, address_);
  }

  const std::string& address() const { return address_; }
  void set_registered() { registered_ = true; }
  const net::any_io_executor& strand() const { return strand_; }

  void Begin() {
    net::dispatch(strand_, [self = shared_from_this()] { self->ReadHeader(); });
  }

  // On the strand, from Stop(): an idle connection (or one still sending its request) is closed;
  // one whose request is being handled or answered finishes that response, then closes.
  void StopIfIdle() {
    if (state_ == State::kReading) Close();
  }

  // On the strand: the Api's answer to the current request.
  void Respond(ApiResponse res) {
    if (state_ != State::kHandling) return;  // cannot happen; defensive
    if (res.accept_socket) {
      if (!upgrade_) {
        return Write(ErrorResponse(Status::Invalid("this endpoint takes a WebSocket upgrade request",
                                                   "upgrade")),
                     After::kClose);
      }
      server_.api->CountResponse(101);
      state_ = State::kClosed;  // the connection is the WebSocket's now
      StartWebSocket(std::move(stream_), std::move(*upgrade_), std::move(res.accept_socket),
                     server_.options.max_body_bytes, server_.websockets);
      upgrade_.reset();
      return;
    }
    upgrade_.reset();
    Write(std::move(res), keep_alive_ ? After::kRead : After::kClose);
  }

 private:
  enum class State { kReading, kHandling, kWriting, kClosed };
  enum class After { kRead, kClose, kLinger };

  std::chrono::seconds timeout() const {
    return std::chrono::seconds(server_.options.idle_timeout_seconds);
  }
  // Until the first request's header is in, the short header timeout: a peer that connects and
  // says nothing gives its slot back soon.
  std::chrono::seconds header_timeout() const {
    return first_request_ ? std::chrono::seconds(server_.options.header_timeout_seconds)
                          : timeout();
  }

  void ReadHeader() {
    state_ = State::kReading;
    if (server_.stopping.load()) return Close();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(header_timeout());
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec == http::error::body_limit) return TooLarge();
    if (ec) return Close();  // timeout, EOF, malformed HTTP: just close
    first_request_ = false;
    const auto length = parser_->content_length();
    if (length && *length > server_.options.max_body_bytes) return TooLarge();
    version_ = parser_->get().version();
    if (parser_->is_done()) return Dispatch();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      continue_ = {};
      continue_.version(11);
      continue_.result(http::status::continue_);
      http::async_write(stream_, continue_,
                        [self = shared_from_this()](beast::error_code wec, size_t) {
                          if (wec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(timeout());
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec == http::error::body_limit) return TooLarge();
    if (ec) return Close();
    Dispatch();
  }

  void TooLarge() {
    const std::string limit = std::to_string(server_.options.max_body_bytes);
    Write(ErrorResponse(Status(Code::kPayloadTooLarge,
                               "request body is larger than " + limit + " bytes")),
          After::kLinger);
  }

  // Hands the request to the Api. Its answer comes back through Respond() on this strand.
  void Dispatch() {
    state_ = State::kHandling;
    stream_.expires_never();  // handling time is bounded by the ingest/store, not the peer
    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();

    ApiRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.content_type = std::string(req[http::field::content_type]);
    request.content_encoding = std::string(req[http::field::content_encoding]);
    request.authorization = std::string(req[http::field::authorization]);
    request.headers.reserve(16);
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(req.body());
    request.remote_address = address_;
    // Kept for the handshake, should the route take the connection over.
    if (websocket::is_upgrade(req)) upgrade_ = std::move(req);

    // Shared by every copy of the callbacks below. While it lives, the io_context keeps running
    // (work guard), so Stop() waits for the answer. Members are destroyed in reverse order: the
    // session before the work guard.
    struct Pending {
      Pending(net::io_context& ioc, std::shared_ptr<Session> s)
          : work(ioc.get_executor()), session(std::move(s)) {}
      net::executor_work_guard<net::io_context::executor_type> work;
      std::shared_ptr<Session> session;
      std::atomic<bool> answered{false};
    };
    auto pending = std::make_shared<Pending>(server_.ioc, shared_from_this());
    Api::Respond respond = [pending](ApiResponse res) {
      if (pending->answered.exchange(true)) return;  // at most one answer
      auto self = pending->session;
      net::post(self->strand(), [self, res = std::move(res)]() mutable {
        self->Respond(std::move(res));
      });
    };
    Api::Runner resume = [pending](Api::Task task) {
      net::post(pending->session->strand(), std::move(task));
    };
    server_.api->Handle(std::move(request), std::move(resume), std::move(respond));
  }

  void Write(ApiResponse res, After after) {
    state_ = State::kWriting;
    if (server_.stopping.load() && after == After::kRead) after = After::kClose;
    res_ = {};
    res_.version(version_);
    try {
      res_.result(static_cast<unsigned>(res.status));
    } catch (...) {  // status out of range: a bug upstream
      res_.result(http::status::internal_server_error);
    }
    res_.set(http::field::server, "qunzhu");
    res_.set(http::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers) res_.set(name, value);
    res_.keep_alive(after == After::kRead);
    res_.body() = std::move(res.body);
    res_.prepare_payload();
    server_.api->CountResponse(static_cast<int>(res_.result_int()));
    stream_.expires_after(timeout());
    http::async_write(stream_, res_,
                      [self = shared_from_this(), after](beast::error_code ec, size_t) {
                        self->OnWrite(ec, after);
                      });
  }

  void OnWrite(beast::error_code ec, After after) {
    if (ec) return Close();
    switch (after) {
      case After::kRead:
        return ReadHeader();
      case After::kClose: {
        state_ = State::kClosed;
        beast::error_code ignored;
        stream_.socket().shutdown(Tcp::socket::shutdown_send, ignored);
        return;  // the socket closes with the last reference to the session
      }
      case After::kLinger:
        return Linger();
    }
  }

  void Linger() {
    state_ = State::kClosed;
    beast::error_code ignored;
    stream_.socket().shutdown(Tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerMaxBytes) return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    state_ = State::kClosed;
    beast::error_code ignored;
    stream_.socket().shutdown(Tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const net::any_io_executor strand_;
  HttpServer::Impl& server_;
  const std::string address_;  // the peer's IP address, for the per-address cap
  bool registered_ = false;  // set before Begin(); then immutable
  bool first_request_ = true;  // no request header read yet

  State state_ = State::kReading;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  http::response<http::empty_body> continue_;
  std::optional<http::request<http::string_body>> upgrade_;  // a WebSocket upgrade request
  http::response<http::string_body> res_;
  std::array<char, 4096> drain_{};
  size_t drained_ = 0;
};

}  // namespace

Status HttpServer::Impl::Listen() {
  beast::error_code ec;
  Tcp::endpoint endpoint;
  const auto address = net::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = Tcp::endpoint(address, options.port);
  } else {
    Tcp::resolver resolver(ioc);
    auto results = resolver.resolve(options.host, std::to_string(options.port),
                                    Tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::Invalid("cannot resolve '" + options.host + "': " + ec.message(), "host");
    }
    endpoint = results.begin()->endpoint();
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (acceptor.open(endpoint.protocol(), ec)) {
    return Status::Unavailable("open " + where + ": " + ec.message());
  }
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec)) {
    return Status::Unavailable("SO_REUSEADDR " + where + ": " + ec.message());
  }
  if (acceptor.bind(endpoint, ec)) return Status::Unavailable("bind " + where + ": " + ec.message());
  if (acceptor.listen(net::socket_base::max_listen_connections, ec)) {
    return Status::Unavailable("listen " + where + ": " + ec.message());
  }
  port = acceptor.local_endpoint(ec).port();
  if (ec) return Status::Unavailable("local_endpoint " + where + ": " + ec.message());
  return Status::Ok();
}

void HttpServer::Impl::Run() {
  DoAccept();
  threads.reserve(static_cast<size_t>(options.io_threads));
  for (int i = 0; i < options.io_threads; ++i) {
    threads.emplace_back([this] {
      // Handlers do not throw by design; should one, log it and keep serving.
      while (true) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: handler threw: {}", e.what());
        } catch (...) {
          spdlog::error("http: handler threw");
        }
      }
    });
  }
}

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, Tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, Tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: back off instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry.expires_after(kAcceptRetryDelay);
    accept_retry.async_wait([this](beast::error_code wec) {
      if (!wec && acceptor.is_open()) DoAccept();
    });
    return;
  }
  beast::error_code peer_ec;
  const Tcp::endpoint peer = socket.remote_endpoint(peer_ec);
  if (peer_ec) {  // the peer is already gone
    DoAccept();
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket), peer.address().to_string(), *this);
  bool admitted = false;
  {
    std::lock_guard lock(mu);
    size_t& from_address = per_address[session->address()];
    if (!stopping.load() && sessions.size() < options.max_connections &&
        from_address < options.max_connections_per_address) {
      sessions.emplace(session.get(), session);
      ++from_address;
      session->set_registered();
      admitted = true;
    } else if (from_address == 0) {
      per_address.erase(session->address());
    }
  }
  if (admitted) {
    session->Begin();
  } else {
    spdlog::debug("http: refusing a connection from {} (limits: {} open, {} an address)",
                  session->address(), options.max_connections,
                  options.max_connections_per_address);
    // Not registered: dropping the session closes the socket.
  }
  DoAccept();
}

void HttpServer::Impl::Stop() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    stopped = true;
    stopping.store(true);
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
  });
  websockets.CloseAll();
  for (auto& s : live) {
    net::post(s->strand(), [s] { s->StopIfIdle(); });
  }
  live.clear();
  // io_context::run returns once nothing is pending: no acceptor, no connection, and no request
  // still with the Api (each holds a work guard until answered).
  for (auto& t : threads) t.join();
  threads.clear();
  pool.join();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options,
                                                      const ApiServices& services,
                                                      RouteTable routes,
                                                      MetricsRegistry* metrics) {
  if (options.io_threads < 1) return Status::Invalid("must be at least 1", "io_threads");
  if (options.blocking_threads < 1) return Status::Invalid("must be at least 1", "blocking_threads");
  if (options.max_body_bytes < 1) return Status::Invalid("must be at least 1", "max_body_bytes");
  if (options.max_connections < 1) return Status::Invalid("must be at least 1", "max_connections");
  if (options.max_connections_per_address < 1) {
    return Status::Invalid("must be at least 1", "max_connections_per_address");
  }
  if (options.header_timeout_seconds < 1) {
    return Status::Invalid("must be at least 1", "header_timeout_seconds");
  }
  if (options.idle_timeout_seconds < 1) {
    return Status::Invalid("must be at least 1", "idle_timeout_seconds");
  }
  try {
    auto impl = std::make_unique<Impl>(std::move(options));
    Impl* raw = impl.get();
    auto api = Api::Make(services, std::move(routes), metrics ? *metrics : impl->own_metrics,
                         [raw](Api::Task task) { net::post(raw->pool, std::move(task)); },
                         raw->options.auth);
    if (!api.ok()) return api.status();
    impl->api = std::move(*api);
    QZ_RETURN_IF_ERROR(impl->Listen());
    impl->Run();
    spdlog::debug("http: listening on {}:{}", impl->options.host, impl->port);
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("http server start: ") + e.what());
  }
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace qz
