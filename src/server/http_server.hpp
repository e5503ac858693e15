// qunzhu server: the HTTP/1.1 listener. Owns the listening socket, the connections, the I/O
// threads and the small blocking pool that runs Store reads; request semantics live in api.hpp.
// Boost stays behind the pimpl: including this header pulls in no Asio or Beast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "server/auth.hpp"   // AuthOptions (transport-free)
#include "server/route.hpp"  // ApiServices, RouteTable (transport-free: no Boost)

namespace qz {

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP literal or a resolvable name
  uint16_t port = 8080;            // 0 = any free port (see HttpServer::port())
  int io_threads = 2;              // >= 1
  int blocking_threads = 2;        // >= 1
  size_t max_body_bytes = 16 << 20;
  size_t max_connections = 1024;  // accepted connections beyond this are closed at once
  // Connections from one remote address beyond this are closed at once, so one peer cannot
  // take every slot.
  size_t max_connections_per_address = 64;
  // A new connection must send its first request's header within this time; a peer that
  // connects and sends nothing holds a slot no longer than this.
  int header_timeout_seconds = 5;
  int idle_timeout_seconds = 30;  // per read/write after that: a peer silent this long is dropped
  AuthOptions auth;  // the console's session cookie and sign-in limits
};

// Threads (who runs what):
//  - `io_threads` threads run the io_context: accept, read and parse HTTP, authenticate against
//    the in-memory token cache, split and parse event batches (EventParser, one per thread),
//    route, build JSON, write responses. Each connection is serialised on its own strand.
//  - `blocking_threads` threads (a thread pool) run everything that may block on disk: Store
//    reads and writes (playbooks), Ingest::SetPlaybook, and token look-ups that miss the cache.
//    Their results are posted back to the connection's strand; they never write to a socket
//    themselves.
//  - The Ingest writer thread runs Submit completions; those only post back to the strand.
// Thread-safety: Start/Stop/~HttpServer from one owning thread, never from the threads above.
// What `services` refers to, `metrics`, and whatever the contributed routes' handlers use must
// outlive the server.
class HttpServer {
 public:
  // Binds and listens; returns once the socket is listening and the threads run. `routes` are
  // served besides the built-in ones (src/app fills them: modules, platform adapters). The
  // ingest and HTTP metrics are registered in `metrics` (null: a registry of the server's own)
  // and GET /metrics renders it.
  // Errors: kInvalidArgument (bad options, `field` names it; a malformed route),
  // kAlreadyExists (a route or metrics collector clashes), kUnavailable (cannot bind).
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options,
                                                   const ApiServices& services,
                                                   RouteTable routes = {},
                                                   MetricsRegistry* metrics = nullptr);

  ~HttpServer();  // Stop()s if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;  // the bound port (useful with port 0)

  // Stops accepting, closes idle connections, lets requests already being handled finish and
  // get their response (then closes those connections), and joins all threads. Blocks until
  // in-flight ingest batches complete. Idempotent.
  void Stop();

  struct Impl;  // defined in http_server.cpp; public only so its connection class can name it

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qz
