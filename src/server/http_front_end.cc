#include "server/http_front_end.h"

// clang-format off
// Boost 1.74's Asio needs <utility> before its headers under C++20, and
// detects C++20 coroutines only on GCC and MSVC: clang (make fuzz) is told.
#include <utility>
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <coroutine>
#define BOOST_ASIO_HAS_CO_AWAIT 1
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports Asio's awaitable frames (their own operator new and
// delete) as freed by a mismatched delete: a false positive in coroutine
// lowering, seen only at -O2.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// clang-format on

#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "server/api_error.h"
#include "server/generation_route.h"
#include "server/listen_socket.h"

namespace kvs::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// A stream with nothing to say for this long sends its heartbeat (an SSE
// comment), so that a client that vanished without a FIN is noticed.
constexpr std::chrono::milliseconds kHeartbeatInterval(500);

std::string ReasonPhrase(int status) {
  return std::string(bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status))));
}

// Status line and headers; `content_length` < 0: chunked.
std::string SerializeHead(const HttpResponse& res, bool keep_alive, long long content_length,
                          int keep_alive_timeout_s = 0) {
  std::string head =
      "HTTP/1.1 " + std::to_string(res.status) + " " + ReasonPhrase(res.status) + "\r\n";
  if (!res.content_type.empty()) head += "Content-Type: " + res.content_type + "\r\n";
  for (const auto& [k, v] : res.headers) head += k + ": " + v + "\r\n";
  const bool no_body = res.status == 204 || res.status == 304 || res.status < 200;
  if (content_length < 0) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (!no_body) {
    head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  }
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (keep_alive_timeout_s > 0) {
    // Clients that pool connections (undici, Node's fetch) keep an idle one
    // for their own timeout unless told ours; without this they reuse a
    // connection just as we close it ("fetch failed").
    head += "Keep-Alive: timeout=" + std::to_string(keep_alive_timeout_s) + "\r\n";
  }
  head += "\r\n";
  return head;
}

void AppendChunk(std::string* out, std::string_view bytes) {
  if (bytes.empty()) return;
  char size[24];
  const int n = std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  out->append(size, n);
  out->append(bytes);
  out->append("\r\n");
}

ApiError HttpError(int status, std::string message, std::string code) {
  ApiError e = InvalidParam("", std::move(message), std::move(code));
  e.http_status = status;
  return e;
}

}  // namespace

struct Loop;
class Connection;

struct HttpFrontEnd::Impl {
  Impl(const ServerConfig& c, HttpApp* a) : config(c), app(a) {}

  asio::awaitable<void> Accept();

  const ServerConfig config;
  HttpApp* const app;
  std::vector<std::unique_ptr<Loop>> loops;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<int> open{0};
  std::atomic<int> active{0};
  std::atomic<bool> closing{false};
  size_t next_loop = 0;
};

// One I/O thread: its io_context and the connections it owns (touched on
// that thread only).
struct Loop {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::unordered_set<std::shared_ptr<Connection>> connections;
};

// Posted by the engine thread when a stream has output: wakes the
// connection's pump on its own thread, at most one post outstanding.
class ConnectionWaker final : public StreamListener {
 public:
  ConnectionWaker(std::weak_ptr<Connection> c, asio::io_context::executor_type ex)
      : connection_(std::move(c)), executor_(ex) {}
  void OnPush() override;

 private:
  std::weak_ptr<Connection> connection_;
  asio::io_context::executor_type executor_;
  std::atomic<bool> posted_{false};
  std::weak_ptr<ConnectionWaker> self_;
  friend class Connection;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Loop* loop, HttpFrontEnd::Impl* fe)
      : stream_(std::move(socket)), loop_(loop), fe_(fe), wake_timer_(loop->io) {}

  asio::awaitable<void> Run();
  // On the connection's thread: wakes the pump.
  void Wake() {
    woken_ = true;
    wake_timer_.cancel();
  }
  // On the connection's thread: ends everything now.
  void CloseNow() {
    closing_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    Wake();
  }

 private:
  const ServerConfig& config() const { return fe_->config; }
  // Writes a whole buffer under the write timeout; false when it failed.
  asio::awaitable<bool> WriteAll(std::string bytes);
  // Answers with an error and reports that the connection must close.
  asio::awaitable<void> SendErrorAndClose(const HttpRequest* req, const ApiError& error);
  // Writes a final answer, then drains what the client still sends.
  asio::awaitable<void> SendAndLinger(std::string bytes);
  // Runs a deferred body to its end; false when the connection must close.
  asio::awaitable<bool> Pump(HttpResponse& res, bool keep_alive);
  void WatchForClose();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Loop* const loop_;
  HttpFrontEnd::Impl* const fe_;
  asio::steady_timer wake_timer_;
  bool woken_ = false;
  bool closing_ = false;
  bool gone_ = false;      // the client closed its end (or a write failed)
  bool watching_ = false;  // a close watch is pending
  bool writing_ = false;
  std::string inflight_;  // the bytes of the write in flight
};

void ConnectionWaker::OnPush() {
  if (posted_.exchange(true)) return;
  std::shared_ptr<ConnectionWaker> self = self_.lock();
  if (!self) return;
  asio::post(executor_, [self] {
    self->posted_.store(false);
    if (std::shared_ptr<Connection> c = self->connection_.lock()) c->Wake();
  });
}

asio::awaitable<bool> Connection::WriteAll(std::string bytes) {
  beast::error_code ec;
  stream_.expires_after(std::chrono::seconds(config().write_timeout_s));
  co_await asio::async_write(stream_, asio::buffer(bytes),
                             asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<void> Connection::SendErrorAndClose(const HttpRequest* req, const ApiError& error) {
  HttpResponse res;
  SendError(res, error);
  res.close = true;
  HttpRequest empty;
  fe_->app->Finalize(req != nullptr ? *req : empty, res);
  co_await SendAndLinger(
      SerializeHead(res, /*keep_alive=*/false, static_cast<long long>(res.body.size())) + res.body);
}

asio::awaitable<void> Connection::SendAndLinger(std::string bytes) {
  if (!co_await WriteAll(std::move(bytes))) co_return;
  // The client may still be sending the body we refused: closing with
  // unread bytes makes the kernel reset the connection, and the client may
  // lose our answer. Half-close, then read and drop what comes, for a
  // bounded time and byte count (no allocation: one fixed buffer).
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::chrono::seconds(1));
  char sink[16384];
  size_t drained = 0;
  while (!ec && drained < (size_t{8} << 20)) {
    drained += co_await stream_.async_read_some(asio::buffer(sink),
                                                asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Connection::WatchForClose() {
  if (watching_ || gone_ || closing_) return;
  watching_ = true;
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this()](const beast::error_code& ec) {
        self->watching_ = false;
        if (ec) return;  // cancelled: the response ended
        char c;
        const ssize_t n =
            ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) return;  // a pipelined request: read it later
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          self->WatchForClose();
          return;
        }
        self->gone_ = true;  // EOF or reset
        self->Wake();
      });
}

asio::awaitable<bool> Connection::Pump(HttpResponse& res, bool keep_alive) {
  DeferredBody& body = *res.deferred;
  auto waker = std::make_shared<ConnectionWaker>(weak_from_this(), loop_->io.get_executor());
  waker->self_ = waker;
  body.SetWaker(waker);
  WatchForClose();
  if (res.streaming) {
    // Bound the kernel's share too: left to autotuning, a socket's send
    // buffer grows to net.ipv4.tcp_wmem's maximum (4 MiB by default) and
    // would hide a client that does not read behind megabytes the outbox
    // limit never sees. Linux doubles the value for its own bookkeeping.
    const size_t kernel = std::clamp<size_t>(config().max_stream_buffer_bytes, 64 << 10, 16 << 20);
    beast::error_code ec;
    stream_.socket().set_option(asio::socket_base::send_buffer_size(static_cast<int>(kernel)), ec);
  }
  std::string outbox;
  bool done = false;
  bool head_sent = false;
  bool final_queued = false;
  bool ok = true;
  Clock::time_point last_write = Clock::now();
  for (;;) {
    woken_ = false;
    if (gone_ || closing_) {
      body.Cancel();
      ok = false;
      break;
    }
    if (!done) {
      std::string bytes;
      int status = res.status;
      std::string type = res.content_type;
      done = body.Poll(&bytes, &status, &type);
      if (res.streaming) {
        // The head goes with the first bytes, so that a body may still
        // choose its status until then (a router relaying a worker's).
        if (!head_sent && (done || !bytes.empty())) {
          res.status = status;
          res.content_type = type;
          outbox = SerializeHead(res, keep_alive, -1, config().keep_alive_timeout_s);
          head_sent = true;
        }
        AppendChunk(&outbox, bytes);
      } else if (done) {
        res.status = status;
        res.content_type = type;
        res.body = std::move(bytes);
        break;
      }
    }
    if (res.streaming) {
      if (done && !final_queued) {
        outbox += "0\r\n\r\n";
        final_queued = true;
      }
      if (outbox.size() > config().max_stream_buffer_bytes) {
        // The client reads slower than the model writes: abort its request
        // rather than buffer without end.
        body.Cancel();
        ok = false;
        break;
      }
      if (!writing_ && !outbox.empty()) {
        inflight_.swap(outbox);
        outbox.clear();
        writing_ = true;
        last_write = Clock::now();
        stream_.expires_after(std::chrono::seconds(config().write_timeout_s));
        asio::async_write(stream_, asio::buffer(inflight_),
                          [self = shared_from_this()](const beast::error_code& ec, size_t) {
                            self->writing_ = false;
                            if (ec) self->gone_ = true;
                            self->Wake();
                          });
      }
      if (final_queued && !writing_ && outbox.empty()) break;
    }
    if (woken_) continue;
    wake_timer_.expires_after(kHeartbeatInterval);
    beast::error_code ec;
    co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (res.streaming && head_sent && !done && !writing_ && outbox.empty() &&
        Clock::now() - last_write >= kHeartbeatInterval) {
      AppendChunk(&outbox, body.Heartbeat());
    }
  }
  body.SetWaker(nullptr);
  if (watching_) {
    beast::error_code ec;
    stream_.socket().cancel(ec);
  }
  // A write may still be in flight after a failure: it completes on its own
  // (its handler holds the connection).
  co_return ok && !gone_;
}

asio::awaitable<void> Connection::Run() {
  loop_->connections.insert(shared_from_this());  // counted in `open` by Accept
  bool first = true;
  while (!closing_) {
    // The next request's first bytes: a fresh connection gets the head
    // deadline, an idle keep-alive one the keep-alive timeout.
    if (buffer_.size() == 0) {
      stream_.expires_after(
          std::chrono::seconds(first ? config().header_timeout_s : config().keep_alive_timeout_s));
      beast::error_code ec;
      const size_t n = co_await stream_.async_read_some(
          buffer_.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      buffer_.commit(n);
    }
    first = false;
    // The whole head within the head deadline, counted from its first byte.
    stream_.expires_after(std::chrono::seconds(config().header_timeout_s));
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(
        static_cast<uint32_t>(std::min<size_t>(config().max_header_bytes, UINT32_MAX)));
    // No body limit while the head is parsed (a Content-Length past it
    // would fail the head, before auth); set once the head has passed.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    co_await bhttp::async_read_header(stream_, buffer_, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::header_limit) {
      co_await SendErrorAndClose(nullptr, HttpError(431,
                                                    "the request head is larger than " +
                                                        std::to_string(config().max_header_bytes) +
                                                        " bytes (--max-header-bytes)",
                                                    "request_header_too_large"));
      break;
    }
    if (ec == beast::error::timeout) {
      co_await SendErrorAndClose(nullptr, HttpError(408,
                                                    "the request head did not arrive within " +
                                                        std::to_string(config().header_timeout_s) +
                                                        " s (--header-timeout)",
                                                    "request_timeout"));
      break;
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || closing_) break;
    if (ec) {
      co_await SendErrorAndClose(
          nullptr, HttpError(400, "malformed HTTP request: " + ec.message(), "bad_request"));
      break;
    }
    const auto& msg = parser.get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.path = req.target.substr(0, req.target.find('?'));
    int n_fields = 0;
    for (const auto& f : msg) {
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      ++n_fields;
    }
    if (n_fields > config().max_header_count) {
      co_await SendErrorAndClose(
          &req,
          HttpError(431,
                    "the request has " + std::to_string(n_fields) + " header fields, more than " +
                        std::to_string(config().max_header_count) + " (--max-header-count)",
                    "request_header_too_large"));
      break;
    }
    bool keep_alive = msg.keep_alive();
    HttpResponse res;
    if (fe_->app->RefuseHead(req, res)) {
      // The body was never read: the connection cannot carry another request.
      fe_->app->Finalize(req, res);
      co_await SendAndLinger(SerializeHead(res, false, static_cast<long long>(res.body.size())) +
                             res.body);
      break;
    }
    parser.body_limit(config().max_body_bytes);
    // Set after the head, the body limit does not see Content-Length itself.
    if (parser.content_length() && *parser.content_length() > config().max_body_bytes) {
      co_await SendErrorAndClose(&req, PayloadTooLarge(config().max_body_bytes));
      break;
    }
    if (!parser.is_done()) {
      if (beast::iequals(msg[bhttp::field::expect], "100-continue")) {
        if (!co_await WriteAll("HTTP/1.1 100 Continue\r\n\r\n")) break;
      }
      // The body, counted on the wire as it is parsed (chunk framing
      // included), within the body deadline.
      stream_.expires_after(std::chrono::seconds(config().body_timeout_s));
      const size_t wire_limit = 2 * config().max_body_bytes + 4096;
      size_t wire = 0;
      while (!parser.is_done() && !ec) {
        wire += co_await bhttp::async_read_some(stream_, buffer_, parser,
                                                asio::redirect_error(asio::use_awaitable, ec));
        if (wire > wire_limit) ec = bhttp::error::body_limit;
      }
      if (ec == bhttp::error::body_limit) {
        co_await SendErrorAndClose(&req, PayloadTooLarge(config().max_body_bytes));
        break;
      }
      if (ec == beast::error::timeout) {
        co_await SendErrorAndClose(
            &req, HttpError(408,
                            "the request body did not arrive within " +
                                std::to_string(config().body_timeout_s) + " s (--body-timeout)",
                            "request_timeout"));
        break;
      }
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && !closing_) {
          co_await SendErrorAndClose(
              &req, HttpError(400, "malformed request body: " + ec.message(), "bad_request"));
        }
        break;
      }
    }
    stream_.expires_never();
    req.body = std::move(parser.get().body());
    // HEAD: a GET's status and headers, Content-Length included, without its
    // body (RFC 9110 9.3.2). No GET route defers its body.
    const bool head = req.method == "HEAD";
    if (head) req.method = "GET";
    fe_->app->Handle(req, res);
    fe_->app->Finalize(req, res);
    keep_alive = keep_alive && !res.close && !fe_->closing.load() && !closing_;
    if (res.deferred) {
      fe_->active.fetch_add(1);
      const bool ok = co_await Pump(res, keep_alive);
      fe_->active.fetch_sub(1);
      res.deferred.reset();
      if (!ok) break;
      if (res.streaming) {
        if (!keep_alive) break;
        continue;
      }
    }
    // Built before the co_await: GCC 12 destroys a conditional's temporary
    // inside a co_await expression twice (AddressSanitizer caught it).
    std::string answer =
        SerializeHead(res, keep_alive, static_cast<long long>(res.body.size()), config().keep_alive_timeout_s);
    if (!head) answer += res.body;
    if (!co_await WriteAll(std::move(answer))) break;
    if (!keep_alive) break;
  }
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
  fe_->open.fetch_sub(1);
  loop_->connections.erase(shared_from_this());
}

// The coroutine's frame holds the connection (a member coroutine would hold
// only `this`).
asio::awaitable<void> RunConnection(std::shared_ptr<Connection> c) { co_await c->Run(); }

asio::awaitable<void> HttpFrontEnd::Impl::Accept() {
  for (;;) {
    Loop& loop = *loops[next_loop];
    next_loop = (next_loop + 1) % loops.size();
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor->async_accept(loop.io, asio::redirect_error(asio::use_awaitable, ec));
    if (closing.load() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors (EMFILE) or a transient error: wait a moment
      // rather than spin on a listener that stays readable.
      asio::steady_timer t(acceptor->get_executor());
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (open.load() >= config.max_connections) {
      // Refused cleanly: a 503 that needs nothing read, then closed.
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      HttpResponse res;
      SendError(res, Unavailable("too many open connections (--max-connections " +
                                 std::to_string(config.max_connections) + ")"));
      auto bytes = std::make_shared<std::string>(
          SerializeHead(res, false, static_cast<long long>(res.body.size())) + res.body);
      asio::async_write(*s, asio::buffer(*bytes), [s, bytes](const beast::error_code&, size_t) {
        beast::error_code e;
        s->shutdown(tcp::socket::shutdown_both, e);
        s->close(e);
      });
      continue;
    }
    // Counted here, not when its coroutine starts, so that a burst of
    // accepts cannot overshoot the limit.
    open.fetch_add(1);
    auto c = std::make_shared<Connection>(std::move(socket), &loop, this);
    asio::co_spawn(loop.io, RunConnection(std::move(c)), asio::detached);
  }
}

HttpFrontEnd::HttpFrontEnd(const ServerConfig& config, HttpApp* app)
    : impl_(std::make_unique<Impl>(config, app)) {
  const int n = config.n_http_threads > 0 ? config.n_http_threads : 2;
  for (int i = 0; i < n; ++i) impl_->loops.push_back(std::make_unique<Loop>());
}

HttpFrontEnd::~HttpFrontEnd() {
  // Coroutines still suspended are destroyed with their io_context; the
  // connections they hold go with them.
  for (auto& l : impl_->loops) l->connections.clear();
}

StatusOr<int> HttpFrontEnd::Bind(const std::string& host, int port) {
  beast::error_code ec;
  const asio::ip::address addr =
      asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return InvalidArgumentError("cannot parse --host '" + host + "': " + ec.message());
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->loops[0]->io);
  const tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  acceptor->open(ep.protocol(), ec);
  if (ec) return UnavailableError("cannot open a socket: " + ec.message());
  SetListenSocketOptions(acceptor->native_handle());
  acceptor->bind(ep, ec);
  if (ec) {
    return UnavailableError("cannot bind " + host + ":" + std::to_string(port) +
                            " (in use?): " + ec.message());
  }
  acceptor->listen(kListenBacklog, ec);
  if (ec) return UnavailableError("cannot listen on " + host + ": " + ec.message());
  const int bound = acceptor->local_endpoint().port();
  impl_->acceptor = std::move(acceptor);
  return bound;
}

void HttpFrontEnd::Run() {
  asio::co_spawn(impl_->loops[0]->io, impl_->Accept(), asio::detached);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->loops.size(); ++i) {
    threads.emplace_back([loop = impl_->loops[i].get()] { loop->io.run(); });
  }
  impl_->loops[0]->io.run();
  for (std::thread& t : threads) t.join();
}

void HttpFrontEnd::Close() {
  if (impl_->closing.exchange(true)) return;
  for (size_t i = 0; i < impl_->loops.size(); ++i) {
    Loop* loop = impl_->loops[i].get();
    asio::post(loop->io, [this, loop, i] {
      if (i == 0 && impl_->acceptor) {
        beast::error_code ec;
        impl_->acceptor->close(ec);
      }
      // CloseNow makes each connection's coroutine end (and erase itself).
      std::vector<std::shared_ptr<Connection>> all(loop->connections.begin(),
                                                   loop->connections.end());
      for (const auto& c : all) c->CloseNow();
      loop->work.reset();
      // Whatever has not unwound in half a second is cut off.
      auto t = std::make_shared<asio::steady_timer>(loop->io, std::chrono::milliseconds(500));
      t->async_wait([t, loop](const beast::error_code&) { loop->io.stop(); });
    });
  }
}

int HttpFrontEnd::open_connections() const { return impl_->open.load(); }
int HttpFrontEnd::active_responses() const { return impl_->active.load(); }

}  // namespace kvs::server
