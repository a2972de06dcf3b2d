// HttpFrontEnd: the event-driven HTTP/1.1 transport (Boost.Beast + Asio, C++20
// coroutines) under the OpenAI routes. A few I/O threads, each running its
// own io_context, hold any number of connections (one coroutine each); the
// routes behind HttpApp never block (answers that wait on the engine are
// DeferredBodies, woken by the engine's OutputStream listener).
//
// Limits, each a ServerConfig field and a serve flag (see server_config.h):
// the request head must arrive whole within header_timeout_s, in at most
// max_header_bytes (431) and max_header_count fields (431); the body within
// body_timeout_s, at most max_body_bytes decoded (413) and at most twice that
// plus 4 KiB on the wire (chunk framing counted); an idle keep-alive
// connection closes after keep_alive_timeout_s; past max_connections open
// connections a new one gets a 503 and is closed. HttpApp::RefuseHead runs
// before any body byte is read (auth, Content-Encoding, lengths).
//
// Streams (SSE) are written as chunked bodies with back-pressure: each
// connection has one write in flight; what the engine produces meanwhile
// waits in the connection's outbox, and a client that lets the outbox grow
// past max_stream_buffer_bytes (it reads slower than the model writes), or
// that leaves a write unfinished for write_timeout_s, has its request
// aborted and its connection closed. Other connections never wait on it.
// A stream's socket keeps a send buffer of the same size (at least 64 KiB),
// so the bytes held for a client that stops reading stay bounded in the
// kernel as well.
// A client that closes its connection while its request runs (streaming or
// not) is noticed at once (the socket turns readable with EOF) and its
// request is cancelled: aborted in the engine within one step.
//
// Ownership: borrows the HttpApp (must outlive the front end); owns its
// sockets and threads. Thread-safety: Bind then Run on one thread; Close,
// open_connections and active_responses from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/http_message.h"
#include "server/server_config.h"

namespace kvs::server {

// What the front end serves. Calls come from the I/O threads, several at
// once; none may block.
class HttpApp {
 public:
  virtual ~HttpApp() = default;
  // The request head has been read (req.body is empty): fills `res` and
  // returns true to answer without reading the body (the connection then
  // closes, its body unread).
  virtual bool RefuseHead(const HttpRequest& req, HttpResponse& res) = 0;
  // The whole request, body read within the limits.
  virtual void Handle(const HttpRequest& req, HttpResponse& res) = 0;
  // Last touches on every answer, the front end's own errors included
  // (CORS headers).
  virtual void Finalize(const HttpRequest& req, HttpResponse& res) = 0;
};

class HttpFrontEnd {
 public:
  HttpFrontEnd(const ServerConfig& config, HttpApp* app);
  ~HttpFrontEnd();
  HttpFrontEnd(const HttpFrontEnd&) = delete;
  HttpFrontEnd& operator=(const HttpFrontEnd&) = delete;

  // Binds and listens; returns the port (the chosen one for port 0).
  StatusOr<int> Bind(const std::string& host, int port);
  // Runs the I/O threads until Close(). REQUIRES: Bind() succeeded.
  void Run();
  // Stops accepting, cancels every deferred answer, closes every
  // connection; Run returns soon after, whatever the clients do.
  void Close();

  int open_connections() const;
  // Responses still being produced or written (deferred bodies).
  int active_responses() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvs::server
