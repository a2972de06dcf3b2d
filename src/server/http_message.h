// HttpRequest / HttpResponse: the server's own request and response types,
// what the routes (generation_route, embeddings_route, web_routes and the
// small routes in openai_server.cc) read and write. They know nothing of the
// transport (http_front_end.h, Boost.Beast): a route fills an HttpResponse
// and returns, never blocking on the engine.
//
// A route whose answer depends on the engine (a generation, an embedding)
// returns a DeferredBody: the transport polls it on the connection's I/O
// thread whenever its Waker fires (the engine pushed output) or a heartbeat
// is due, and cancels it when the client leaves or the server stops.
//
// Thread-safety: an HttpRequest/HttpResponse belongs to one connection (one
// I/O thread). DeferredBody: Poll and Cancel are called on that I/O thread
// only; its Waker may be called from any thread (the engine's).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/output_stream.h"

namespace kvs::server {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive ASCII comparison of header names.
bool HeaderNameEquals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target without the query
  HttpHeaders headers;
  std::string body;  // read within the limits (empty until then)

  // The first value of header `name` ("" when absent).
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

// The answer of a route that waits on the engine. Streaming bodies are sent
// as they come (chunked; the response's status and headers go first);
// waiting bodies fill the whole response once done.
class DeferredBody {
 public:
  virtual ~DeferredBody() = default;

  // Called once by the transport before the first Poll. `waker` must be
  // woken (from any thread) whenever Poll may have something new.
  virtual void SetWaker(std::shared_ptr<StreamListener> waker) = 0;
  // Never blocks. Streaming: appends the bytes to send now to *out; the
  // status and headers go out with the first bytes (or the end), so until
  // then Poll may change *status and *content_type.
  // Waiting: when done, fills *status, *content_type and *out (the whole
  // body). Returns true once the body is complete (nothing more will come).
  virtual bool Poll(std::string* out, int* status, std::string* content_type) = 0;
  // The client left (or the server is closing its connection) before the
  // body was complete: frees what the request holds in the engine. Poll is
  // not called again.
  virtual void Cancel() = 0;
  // Bytes to send on a stream that has said nothing for a while (an SSE
  // comment), so that a vanished client is noticed; "" for none.
  virtual std::string Heartbeat() { return ""; }
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string content_type;
  std::string body;
  // Close the connection after this answer (e.g. a body left unread).
  bool close = false;
  // Set by a route that answers later; `streaming` says how (see above).
  std::shared_ptr<DeferredBody> deferred;
  bool streaming = false;

  void SetHeader(std::string name, std::string value);
  bool HasHeader(std::string_view name) const;
  void SetContent(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
};

}  // namespace kvs::server
