#include "server/websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <string>
#include <utility>

namespace qz {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

constexpr auto kShutdownGrace = std::chrono::seconds(2);

// One WebSocket. Its handlers run on the strand of the connection it took over; Send and Close
// may come from any thread and only post to it.
class WebSocketSession : public MessageSocket, public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(beast::tcp_stream stream, size_t max_message_bytes)
      : ws_(std::move(stream)), strand_(ws_.get_executor()), cut_timer_(strand_) {
    ws_.read_message_max(max_message_bytes);
  }

  void Run(http::request<http::string_body> request, MessageSocketAccept accept) {
    // The websocket stream has its own timeouts (the handshake's, and pings when idle); the
    // TCP stream's would cut a quiet but healthy socket.
    beast::get_lowest_layer(ws_).expires_never();
    // A socket quiet for half the idle time (150 s) is pinged; one silent for all of it is
    // dropped, and the implementation connects again.
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "qunzhu"); }));
    request_ = std::move(request);
    ws_.async_accept(request_, [self = shared_from_this(), accept = std::move(accept)](beast::error_code ec) {
      if (ec) {
        spdlog::debug("websocket: handshake failed: {}", ec.message());
        self->closed_.store(true);
        self->finished_ = true;
        return;
      }
      try {
        self->handler_ = accept(self);
      } catch (const std::exception& e) {
        spdlog::error("websocket: accepting a socket threw: {}", e.what());
      }
      self->accepted_ = true;
      self->Read();
      if (self->close_requested_) self->CloseNow();
    });
  }

  bool Send(std::string text) override {
    if (closed_.load()) return false;
    net::post(strand_, [self = shared_from_this(), text = std::move(text)]() mutable {
      if (self->close_requested_ || self->finished_) return;
      self->queue_.push_back(std::move(text));
      if (self->queue_.size() == 1) self->Write();
    });
    return true;
  }

  // The server stops: a normal close, and the connection cut if the peer has not completed the
  // closing handshake within `grace` (else a silent peer would hold the stop for the websocket's
  // own close timeout).
  void Shutdown(std::chrono::milliseconds grace) {
    Close();
    net::post(strand_, [self = shared_from_this(), grace] {
      if (self->finished_) return;
      self->cut_timer_.expires_after(grace);
      self->cut_timer_.async_wait([self](beast::error_code ec) {
        if (ec || self->finished_) return;
        spdlog::debug("websocket: the peer did not complete the close in time: cut");
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);  // the pending read ends
      });
    });
  }

  void Close() override {
    closed_.store(true);
    net::post(strand_, [self = shared_from_this()] {
      if (self->close_requested_ || self->finished_) return;
      self->close_requested_ = true;
      if (!self->accepted_) {  // still in the handshake: it fails, and nothing else runs
        beast::get_lowest_layer(self->ws_).cancel();
        return;
      }
      if (self->queue_.empty()) self->CloseNow();  // else after the last queued write
    });
  }

 private:
  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Finish(ec);
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      if (self->handler_.on_message) {
        try {
          self->handler_.on_message(std::move(text));
        } catch (const std::exception& e) {
          spdlog::error("websocket: a message handler threw: {}", e.what());
        }
      }
      self->Read();
    });
  }

  void Write() {
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Finish(ec);
      self->queue_.pop_front();
      if (!self->queue_.empty()) return self->Write();
      if (self->close_requested_) self->CloseNow();
    });
  }

  void CloseNow() {
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
      // The pending read ends with `closed`; Finish runs from there.
    });
  }

  // The socket is done (closed by either side, timed out, or broken): the handler hears of it
  // once. Queued messages that were not written are dropped; their senders were told true, as
  // with any message lost in flight.
  void Finish(beast::error_code ec) {
    if (finished_) return;
    finished_ = true;
    closed_.store(true);
    queue_.clear();
    cut_timer_.cancel();
    if (ec != websocket::error::closed) spdlog::debug("websocket: closed: {}", ec.message());
    if (accepted_ && handler_.on_close) {
      try {
        handler_.on_close();
      } catch (const std::exception& e) {
        spdlog::error("websocket: a close handler threw: {}", e.what());
      }
    }
    handler_ = {};  // drops what the handler holds (it may hold this socket)
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  websocket::stream<beast::tcp_stream> ws_;
  const net::any_io_executor strand_;
  net::steady_timer cut_timer_;  // Shutdown's grace
  http::request<http::string_body> request_;  // kept until the handshake completes
  beast::flat_buffer buffer_;
  MessageSocketHandler handler_;
  std::deque<std::string> queue_;  // front: being written
  std::atomic<bool> closed_{false};  // no more Send accepted
  bool accepted_ = false;
  bool close_requested_ = false;
  bool finished_ = false;
};

bool WebSocketSessions::Add(const std::shared_ptr<WebSocketSession>& session) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  std::erase_if(sessions_, [](const std::weak_ptr<WebSocketSession>& w) { return w.expired(); });
  sessions_.push_back(session);
  return true;
}

void WebSocketSessions::CloseAll() {
  std::vector<std::shared_ptr<WebSocketSession>> live;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    sessions_.clear();
  }
  for (auto& s : live) s->Shutdown(kShutdownGrace);
}

void StartWebSocket(beast::tcp_stream stream, http::request<http::string_body> request,
                    MessageSocketAccept accept, size_t max_message_bytes, WebSocketSessions& sessions) {
  auto session = std::make_shared<WebSocketSession>(std::move(stream), max_message_bytes);
  if (!sessions.Add(session)) return;  // the server is stopping: the connection closes
  session->Run(std::move(request), std::move(accept));
}

}  // namespace qz
