// qunzhu core: a message socket (a WebSocket the server accepted), as its user sees it. The
// server (src/server) implements MessageSocket over Beast; whoever accepts the upgrade (a
// platform adapter, wired by src/app) supplies the handler. Transport-free: no Boost here.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace qz {

// One open socket. Thread-safe: Send and Close from any thread, concurrently.
class MessageSocket {
 public:
  virtual ~MessageSocket() = default;
  // Queues one text message; never blocks. False when the socket is closed or closing: then
  // nothing was queued, so nothing of it can reach the peer.
  virtual bool Send(std::string text) = 0;
  // Closes the socket after the messages queued so far; idempotent. The handler's on_close
  // follows.
  virtual void Close() = 0;
};

// What the socket's user does with what arrives. The server calls these one at a time, in
// order, on its I/O threads: they must not block.
struct MessageSocketHandler {
  std::function<void(std::string text)> on_message;  // each message received
  std::function<void()> on_close;  // exactly once, after the last on_message
};

// Takes over an accepted socket: called once, after the handshake, with the socket; returns
// the handler for it.
using MessageSocketAccept = std::function<MessageSocketHandler(std::shared_ptr<MessageSocket>)>;

}  // namespace qz
