// qunzhu server, internal: a connection taken over by a route as a WebSocket (a OneBot
// implementation's reverse WebSocket). Included by http_server.cpp only; it pulls in Beast.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "core/message_socket.hpp"

namespace qz {

class WebSocketSession;

// The server's open WebSockets, so that stopping the server closes them (a socket's pending
// read would otherwise keep the I/O threads running). Thread-safe.
class WebSocketSessions {
 public:
  // False once CloseAll has run: the caller drops the connection.
  bool Add(const std::shared_ptr<WebSocketSession>& session);
  // Closes every open socket (each handler's on_close follows; a peer that does not answer the
  // close within 2 s is cut) and refuses new ones.
  void CloseAll();

 private:
  std::mutex mu_;
  bool closed_ = false;
  std::vector<std::weak_ptr<WebSocketSession>> sessions_;
};

// Completes the handshake of `request` on `stream` (whose HTTP exchange is over), then hands
// the socket to `accept` and runs it: messages up to `max_message_bytes`, pings when idle, a
// peer that answers none within the timeout is dropped.
void StartWebSocket(boost::beast::tcp_stream stream,
                    boost::beast::http::request<boost::beast::http::string_body> request,
                    MessageSocketAccept accept, size_t max_message_bytes,
                    WebSocketSessions& sessions);

}  // namespace qz
