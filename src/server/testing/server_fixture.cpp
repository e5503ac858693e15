// The test client of server_fixture.hpp over Beast: compiled once into qz_server_testing, so the
// tests that include the fixture do not each instantiate Beast's HTTP templates.
#include "server/testing/server_fixture.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <strings.h>

namespace qz::server_testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using Tcp = net::ip::tcp;

FakeStore::~FakeStore() = default;

FakeIngest::~FakeIngest() {
  for (auto& t : threads_) t.join();
}

std::string RawReply::operator[](std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (field.size() == name.size() && ::strncasecmp(field.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

namespace {

http::request<http::string_body> MakeRequest(const Req& q) {
  http::request<http::string_body> req{http::string_to_verb(q.method), q.target, 11};
  req.set(http::field::host, "localhost");
  if (!q.token.empty()) req.set(http::field::authorization, "Bearer " + q.token);
  if (!q.content_type.empty()) req.set(http::field::content_type, q.content_type);
  for (const auto& [name, value] : q.headers) req.set(name, value);
  req.body() = q.body;
  if (q.chunked) {
    req.chunked(true);
  } else if (q.method != "GET" || !q.body.empty()) {
    req.prepare_payload();
  }
  return req;
}

}  // namespace

struct Client::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

Client::Client(uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->stream.connect(Tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  impl_->stream.expires_after(std::chrono::seconds(10));
}

Client::Client(uint16_t port, const std::string& source) : impl_(std::make_unique<Impl>()) {
  Tcp::socket& socket = impl_->stream.socket();
  socket.open(Tcp::v4());
  socket.bind(Tcp::endpoint(net::ip::make_address(source), 0));
  socket.connect(Tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  impl_->stream.expires_after(std::chrono::seconds(10));
}

Client::~Client() = default;

void Client::Write(const Req& q) { http::write(impl_->stream, MakeRequest(q)); }

void Client::WriteRaw(std::string_view bytes) {
  net::write(impl_->stream.socket(), net::buffer(bytes.data(), bytes.size()));
}

std::string Client::ReadRaw(std::size_t n) {
  std::string got(n, '\0');
  net::read(impl_->stream.socket(), net::buffer(got));
  return got;
}

Reply Client::Read() {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(impl_->stream, impl_->buffer, parser);
  http::response<http::string_body> raw = parser.release();
  Reply r;
  r.status = static_cast<int>(raw.result_int());
  r.raw.keeps_alive = raw.keep_alive();
  for (const auto& field : raw) {
    r.raw.fields.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  r.raw.text = std::move(raw.body());
  if (r.raw["Content-Type"].starts_with("application/json")) r.body = json::parse(r.raw.text);
  return r;
}

bool Client::ClosedByPeer() {
  timeval limit{10, 0};
  ::setsockopt(impl_->stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit,
               sizeof limit);
  char c;
  beast::error_code ec;
  impl_->stream.socket().read_some(net::buffer(&c, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

}  // namespace qz::server_testing
