// FakeOpenAiServer (tests only): a tiny OpenAI-style streaming server on a
// loopback port, so that the client's timing, parsing and error paths are
// tested against real sockets without the engine.
//
// Each chat completion streams `n_tokens` content chunks, `token_delay_ms`
// apart after a first delay of `first_token_delay_ms`, then a usage chunk
// (cached_tokens = prompt_tokens / 2) and [DONE]. A request whose last
// message contains "FAIL" gets HTTP 503. Ownership: owns the server thread;
// the destructor stops and joins it.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace kvs::loadgen::testing {

struct FakeServerOptions {
  int n_tokens = 5;
  int first_token_delay_ms = 30;
  int token_delay_ms = 10;
  bool send_done = true;
  bool send_usage = true;
  int max_model_len = 512;
};

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(FakeServerOptions o) : options_(o) {
    server_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json j = {{"object", "list"},
                          {"data", {{{"id", "fake"}, {"max_model_len", options_.max_model_len}}}}};
      res.set_content(j.dump(), "application/json");
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const int n = ++scrapes_;
      res.set_content("kvserve_kv_blocks_used " + std::to_string(n % 7) +
                          "\nkvserve_kv_blocks_total 32\nkvserve_preemptions_total " +
                          std::to_string(n) + "\n",
                      "text/plain");
    });
    server_.Post("/tokenize", [](const httplib::Request& req, httplib::Response& res) {
      auto j = nlohmann::json::parse(req.body);
      const size_t n = j["prompt"].get<std::string>().size() / 3;  // 3 chars per token
      res.set_content(nlohmann::json({{"count", n}}).dump(), "application/json");
    });
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req,
                                                httplib::Response& res) {
      ++requests_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_auth_ = req.get_header_value("Authorization");
      }
      auto body = nlohmann::json::parse(req.body);
      if (body["messages"].back()["content"].get<std::string>().find("FAIL") !=
          std::string::npos) {
        res.status = 503;
        res.set_content(R"({"error":{"message":"overloaded"}})", "application/json");
        return;
      }
      const int n_prompt = static_cast<int>(body.dump().size() / 4);
      res.set_chunked_content_provider(
          "text/event-stream", [this, n_prompt, i = 0](size_t, httplib::DataSink& sink) mutable {
            if (i == 0) {
              std::this_thread::sleep_for(std::chrono::milliseconds(options_.first_token_delay_ms));
              std::string role = R"({"choices":[{"index":0,"delta":{"role":"assistant"}}]})";
              std::string out = "data: " + role + "\n\n";
              sink.write(out.data(), out.size());
            } else {
              std::this_thread::sleep_for(std::chrono::milliseconds(options_.token_delay_ms));
            }
            if (i < options_.n_tokens) {
              std::string out = R"(data: {"choices":[{"index":0,"delta":{"content":"tok )" +
                                std::to_string(i) + R"("},"finish_reason":null}]})" + "\n\n";
              sink.write(out.data(), out.size());
              ++i;
              return true;
            }
            std::string tail;
            if (options_.send_usage) {
              tail += R"(data: {"choices":[],"usage":{"prompt_tokens":)" +
                      std::to_string(n_prompt) + R"(,"completion_tokens":)" +
                      std::to_string(options_.n_tokens) +
                      R"(,"prompt_tokens_details":{"cached_tokens":)" +
                      std::to_string(n_prompt / 2) + "}}}\n\n";
            }
            if (options_.send_done) tail += "data: [DONE]\n\n";
            sink.write(tail.data(), tail.size());
            sink.done();
            return true;
          });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket is bound and listening already; accept() starts with the thread.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeOpenAiServer() {
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }
  int scrapes() const { return scrapes_.load(); }
  std::string last_auth() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_auth_;
  }

 private:
  FakeServerOptions options_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> scrapes_{0};
  mutable std::mutex mu_;
  std::string last_auth_;  // guarded by mu_
};

}  // namespace kvs::loadgen::testing
