// The front end under concurrency, with a fake app whose bodies are fed by
// producer threads through OutputStream (as the engine feeds them): clients
// that read to the end get every byte in order, clients that leave midway
// get their bodies cancelled, and Close ends everything while streams are
// in flight. Meant to run under ThreadSanitizer too.
#include "server/http_front_end.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace kvs::server {
namespace {

constexpr int kTokens = 100;

std::string Expected() {
  std::string s;
  for (int i = 0; i < kTokens; ++i) s += "token" + std::to_string(i) + " ";
  return s;
}

class FedBody : public DeferredBody {
 public:
  FedBody(bool streaming, std::atomic<int>* cancels)
      : streaming_(streaming), cancels_(cancels), stream_(std::make_shared<OutputStream>(1)) {
    producer_ = std::thread([s = stream_, this] {
      for (int i = 0; i < kTokens; ++i) {
        StreamDelta d;
        d.text = "token" + std::to_string(i) + " ";
        d.finished = i == kTokens - 1 || stop_.load();
        s->Push(std::move(d));
        if (i == kTokens - 1 || stop_.load()) return;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  ~FedBody() override {
    stop_.store(true);
    producer_.join();
  }
  void SetWaker(std::shared_ptr<StreamListener> waker) override { stream_->SetListener(waker); }
  bool Poll(std::string* out, int* status, std::string* type) override {
    while (auto d = stream_->Next(std::chrono::milliseconds(0))) {
      text_ += d->text;
      if (d->finished) done_ = true;
      if (done_) break;
    }
    if (streaming_) {
      *out += text_;
      text_.clear();
    } else if (done_) {
      *out = text_;
      *status = 200;
      *type = "text/plain";
    }
    return done_;
  }
  void Cancel() override {
    stop_.store(true);
    cancels_->fetch_add(1);
  }

 private:
  const bool streaming_;
  std::atomic<int>* cancels_;
  std::shared_ptr<OutputStream> stream_;
  std::atomic<bool> stop_{false};
  std::thread producer_;
  std::string text_;
  bool done_ = false;
};

class FakeApp : public HttpApp {
 public:
  bool RefuseHead(const HttpRequest&, HttpResponse&) override { return false; }
  void Handle(const HttpRequest& req, HttpResponse& res) override {
    if (req.path == "/stream" || req.path == "/wait") {
      res.streaming = req.path == "/stream";
      res.content_type = "text/plain";
      res.deferred = std::make_shared<FedBody>(res.streaming, &cancels);
      return;
    }
    res.SetContent("ok", "text/plain");
  }
  void Finalize(const HttpRequest&, HttpResponse&) override {}
  std::atomic<int> cancels{0};
};

// One request with Connection: close; returns everything received (or, when
// `leave_after` > 0, the first bytes, then hangs up).
std::string Fetch(int port, const std::string& path, size_t leave_after = 0) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, n);
    if (leave_after > 0 && got.size() >= leave_after) break;
  }
  close(fd);
  return got;
}

// Joins a chunked body's chunks.
std::string Dechunk(const std::string& http) {
  size_t p = http.find("\r\n\r\n");
  if (p == std::string::npos) return "";
  p += 4;
  std::string out;
  while (p < http.size()) {
    const size_t eol = http.find("\r\n", p);
    if (eol == std::string::npos) break;
    const size_t n = std::stoul(http.substr(p, eol - p), nullptr, 16);
    if (n == 0) return out;
    out += http.substr(eol + 2, n);
    p = eol + 2 + n + 2;
  }
  return out + "<unterminated>";
}

TEST(HttpFrontEndTest, ManyClientsStreamWaitAndLeave) {
  ServerConfig config;
  config.n_http_threads = 3;
  FakeApp app;
  HttpFrontEnd fe(config, &app);
  StatusOr<int> port = fe.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  std::thread server([&] { fe.Run(); });

  const std::string expected = Expected();
  std::atomic<int> streams_ok{0}, waits_ok{0}, plain_ok{0}, left{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      for (int k = 0; k < 4; ++k) {
        switch ((i + k) % 4) {
          case 0:
            if (Dechunk(Fetch(*port, "/stream")) == expected) streams_ok.fetch_add(1);
            break;
          case 1: {
            const std::string r = Fetch(*port, "/wait");
            if (r.find("Content-Length: " + std::to_string(expected.size())) != std::string::npos &&
                r.ends_with(expected)) {
              waits_ok.fetch_add(1);
            }
            break;
          }
          case 2:
            if (Fetch(*port, "/health").ends_with("\r\n\r\nok")) plain_ok.fetch_add(1);
            break;
          case 3:
            Fetch(*port, "/stream", /*leave_after=*/150);
            left.fetch_add(1);
            break;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(streams_ok.load(), 12);
  EXPECT_EQ(waits_ok.load(), 12);
  EXPECT_EQ(plain_ok.load(), 12);
  // Every client that left had its body cancelled (the front end noticed the
  // close, not the end of the body: the producer is far from done).
  for (int i = 0; i < 200 && app.cancels.load() < left.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(app.cancels.load(), left.load());

  // Close with streams in flight: Run returns and every connection is gone.
  std::vector<std::thread> late;
  for (int i = 0; i < 4; ++i) late.emplace_back([&] { Fetch(*port, "/stream"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  fe.Close();
  server.join();
  for (std::thread& t : late) t.join();
  EXPECT_EQ(fe.open_connections(), 0);
}

}  // namespace
}  // namespace kvs::server
