// kvserve serve: the OpenAI-compatible HTTP server over one model.
//
// Threads: main (loads, then runs the first HTTP I/O loop), the engine
// thread, the other I/O loops (--http-threads), and a signal thread that turns SIGINT/SIGTERM into an orderly
// shutdown (no async-signal-unsafe work in a handler, no global flag): new
// requests get 503, in-flight streams end with "abort" and [DONE], then the
// listener closes and main returns.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_loop.h"
#include "events/kv_event_publisher.h"
#include "model/model.h"
#include "runtime/backend_runner.h"
#include "server/chat_prompt.h"
#include "server/openai_server.h"
#include "tools/commands.h"
#include "tools/engine_flags.h"
#include "tools/serve_roles.h"
#include "tools/server_process.h"

namespace kvs::tools {
namespace {

struct ServeOptions {
  std::string model;
  std::string tokenizer;
  std::string model_name;     // "" : the file's stem
  std::string chat_template;  // "" : the model's own (or ChatML / plain)
  std::string embedding_pooling = "mean";
  server::ServerConfig server;
  EngineFlags engine;
  events::KvEventPublisherConfig kv_events;  // endpoint "": off
  RoleOptions role;
};

int Fail(const char* what, const Status& s) {
  std::fprintf(stderr, "kvserve serve: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

int Serve(ServeOptions opt) {
  sigset_t signals = SetUpServerProcess();

  auto model_or = Model::Load(opt.model, opt.tokenizer);
  if (!model_or.ok()) return Fail("loading the model", model_or.status());
  const Model& model = **model_or;
  if (opt.role.role == "prefill") {
    return ServePrefill(opt.role, model, opt.engine, opt.server, signals);
  }
  const Tokenizer* tokenizer = &model.tokenizer();
  auto runner_or = BackendRunner::Create(&model, ResolveRunnerConfig(opt.engine, model));
  if (!runner_or.ok()) return Fail("creating the runner", runner_or.status());
  // The kernel path the CPU got (cpu-avx512, cpu-amx, ...), for the log.
  const std::string backend_name((*runner_or)->backend().name());
  // Decode role: prefill workers connect to the KV port and write prompt KV
  // into this runner's pool. Declared before the engine, which uses it.
  std::unique_ptr<DecodeService> decode_service;
  if (opt.role.role == "decode") {
    auto service_or =
        StartDecodeService(opt.role, model, &(*runner_or)->mutable_kv_storage());
    if (!service_or.ok()) return Fail("starting the KV service", service_or.status());
    decode_service = std::move(service_or).value();
  }
  auto chat_or = server::MakeChatPrompt(tokenizer, opt.chat_template);
  if (!chat_or.ok()) return Fail("chat template", chat_or.status());
  opt.server.tool_format = server::DetectToolCallFormat(chat_or->text);
  std::unique_ptr<events::KvEventPublisher> kv_events;
  if (!opt.kv_events.endpoint.empty()) {
    auto pub_or = events::KvEventPublisher::Create(opt.kv_events);
    if (!pub_or.ok()) return Fail("KV events", pub_or.status());
    kv_events = std::move(pub_or).value();
    std::fprintf(stderr, "kvserve serve: KV events on %s%s%s (prefix hash %s)\n",
                 kv_events->endpoint().c_str(),
                 kv_events->replay_endpoint().empty() ? "" : ", replay on ",
                 kv_events->replay_endpoint().c_str(), opt.engine.prefix_hash.c_str());
  }
  // Declared after kv_events: the engine, which publishes into it, goes first.
  auto engine_or = EngineLoop::Create(std::move(runner_or).value(), tokenizer,
                                    ResolveEngineConfig(opt.engine), kv_events.get(),
                                    decode_service.get());
  if (!engine_or.ok()) return Fail("creating the engine", engine_or.status());
  EngineLoop* engine = engine_or->get();

  opt.server.model_id =
      !opt.model_name.empty() ? opt.model_name : std::filesystem::path(opt.model).stem().string();
  opt.server.max_model_len = model.config().context_length;
  opt.server.embedding_size = model.config().dim;
  opt.server.embedding_pooling = opt.embedding_pooling == "last" ? Pooling::kLast : Pooling::kMean;
  // The file's recommended sampling (vLLM's generation-config default) for
  // what a request leaves out.
  const SamplingDefaults& d = model.sampling_defaults();
  SamplingParams& s = opt.server.default_sampling;
  s.temperature = d.temperature.value_or(s.temperature);
  s.top_k = d.top_k.value_or(s.top_k);
  s.top_p = d.top_p.value_or(s.top_p);
  s.min_p = d.min_p.value_or(s.min_p);
  s.repetition_penalty = d.repetition_penalty.value_or(s.repetition_penalty);
  auto server_or =
      server::OpenAiServer::Create(opt.server, engine, tokenizer, std::move(chat_or->encode));
  if (!server_or.ok()) return Fail("creating the server", server_or.status());
  server::OpenAiServer* srv = server_or->get();
  if (decode_service != nullptr) srv->SetWorkerHooks(DecodeHooks(opt.role, decode_service.get(), engine));
  auto port_or = srv->Bind();
  if (!port_or.ok()) return Fail("binding", port_or.status());

  std::atomic<bool> serve_returned{false};
  // The first signal starts the shutdown on its own thread, so that this
  // one can wait for a second signal (exit at once) while it runs; a
  // shutdown that has not ended 1 s past the drain exits anyway.
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (serve_returned.load()) return;  // woken by main to exit
    std::fprintf(stderr, "kvserve serve: %s, shutting down\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    const int drain_s = opt.server.shutdown_timeout_s;
    std::thread stopper([&serve_returned, srv, engine, drain_s] {
      srv->BeginShutdown();
      engine->Shutdown();
      srv->Stop();
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!serve_returned.load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!serve_returned.load()) {
        std::fprintf(stderr, "kvserve serve: connections still open %d s after the drain began; "
                     "exiting\n", drain_s + 1);
        std::fflush(nullptr);
        std::_Exit(0);
      }
    });
    sigwait(&signals, &sig);
    if (!serve_returned.load()) {
      std::fprintf(stderr, "kvserve serve: second signal, exiting now\n");
      std::fflush(nullptr);
      std::_Exit(128 + sig);
    }
    stopper.join();
  });

  std::fprintf(stderr,
               "kvserve serve: model %s (%s), context %d, chat template %s (tool calls: %s), auth %s, "
               "backend %s\n",
               opt.server.model_id.c_str(), model.Describe().c_str(), opt.server.max_model_len,
               chat_or->name.c_str(), server::ToolCallFormatName(opt.server.tool_format),
               opt.server.api_keys.empty() ? "off" : "on", backend_name.c_str());
  if (d.temperature || d.top_k || d.top_p || d.min_p || d.repetition_penalty) {
    std::fprintf(stderr, "kvserve serve: the file's sampling defaults: temperature %g, top_k %d, "
                 "top_p %g, min_p %g, repetition_penalty %g\n", s.temperature, s.top_k, s.top_p,
                 s.min_p, s.repetition_penalty);
  }
  std::printf("kvserve: ready on http://%s:%d (OpenAI API at /v1)\n", opt.server.host.c_str(),
              *port_or);
  std::fflush(stdout);
  Status served = srv->Serve();
  serve_returned.store(true);
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // no-op if it already returned
  signal_thread.join();
  engine->Shutdown();
  if (kv_events != nullptr) kv_events->Shutdown();
  if (!served.ok()) return Fail("serving", served);
  std::fprintf(stderr, "kvserve serve: stopped\n");
  return 0;
}

}  // namespace

int RunServe(int argc, char** argv) {
  ServeOptions opt;
  CLI::App app{"OpenAI-compatible HTTP server", "kvserve serve"};
  app.add_option("-m,--model", opt.model, "model file (GGUF or llama2.c .bin)")->required();
  app.add_option("--tokenizer", opt.tokenizer, "tokenizer file (llama2.c format)");
  app.add_option("--model-name,--served-model-name", opt.model_name,
                 "the name clients use (default: the model file's stem)");
  app.add_option("--chat-template", opt.chat_template,
                 "Jinja chat template file (or a tokenizer_config.json with \"chat_template\") "
                 "overriding the model's tokenizer.chat_template");
  app.add_option("--host", opt.server.host, "address to listen on");
  app.add_option("--port", opt.server.port, "port (0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--api-key", opt.server.api_keys,
                 "accepted API key (repeatable); each key is its own prefix-cache tenant");
  app.add_option("--max-concurrent-requests", opt.server.max_concurrent_requests,
                 "generation requests in flight; 429 past it")
      ->check(CLI::Range(1, 100000));
  app.add_option("--max-body-bytes", opt.server.max_body_bytes, "413 past it")
      ->check(CLI::Range(1024, 1 << 30));
  app.add_option("--http-threads", opt.server.n_http_threads,
                 "HTTP I/O threads (event loops, each holding any number of connections; 0: 2)")
      ->check(CLI::Range(0, 256));
  app.add_option("--max-connections", opt.server.max_connections,
                 "open connections; a new one past it gets 503 and is closed")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--max-header-bytes", opt.server.max_header_bytes,
                 "request line and headers; 431 past it")
      ->check(CLI::Range(256, 1 << 24));
  app.add_option("--max-header-count", opt.server.max_header_count, "header fields; 431 past it")
      ->check(CLI::Range(1, 10000));
  app.add_option("--header-timeout", opt.server.header_timeout_s,
                 "seconds for a whole request head (slow clients are closed)")
      ->check(CLI::Range(1, 3600));
  app.add_option("--body-timeout", opt.server.body_timeout_s, "seconds for a whole request body")
      ->check(CLI::Range(1, 3600));
  app.add_option("--keep-alive-timeout", opt.server.keep_alive_timeout_s,
                 "seconds an idle keep-alive connection stays open")
      ->check(CLI::Range(1, 3600));
  app.add_option("--write-timeout", opt.server.write_timeout_s,
                 "seconds one write to a client may take before its connection is closed")
      ->check(CLI::Range(1, 3600));
  app.add_option("--max-stream-buffer-bytes", opt.server.max_stream_buffer_bytes,
                 "bytes a stream may hold unsent for a slow reader; its request is aborted past it")
      ->check(CLI::Range(4096, 1 << 30));
  app.add_option("--max-json-depth", opt.server.parse_limits.max_json_depth,
                 "400 for request JSON nested deeper, checked before parsing")
      ->check(CLI::Range(2, 1000));
  app.add_option("--embedding-pooling", opt.embedding_pooling,
                 "/v1/embeddings: pool a prompt's final hidden states by their mean or the last token's")
      ->check(CLI::IsMember({"mean", "last"}));
  app.add_option("--max-choices", opt.server.parse_limits.max_choices,
                 "n and best_of at most (choices share the prompt's KV blocks)")
      ->check(CLI::Range(1, 128));
  app.add_flag("--metrics-public", opt.server.metrics_public,
               "serve /metrics without the API key (default: /metrics needs it when keys are set)");
  app.add_option("--priority-min", opt.server.priority_min,
                 "lowest client `priority` honoured (lower runs first); default 0 with "
                 "--priority-max 0: client priorities are ignored");
  app.add_option("--priority-max", opt.server.priority_max, "highest client `priority` honoured");
  app.add_option("--shutdown-timeout", opt.server.shutdown_timeout_s,
                 "seconds in-flight streams get to finish on SIGTERM/SIGINT; a second signal "
                 "exits at once")
      ->check(CLI::Range(0, 3600));
  app.add_option("--allowed-origins", opt.server.allowed_origins,
                 "browser origins allowed to call the API (CORS; repeatable or comma-separated; "
                 "'*' for any); default none")
      ->delimiter(',');
  app.add_option("--kv-events-endpoint", opt.kv_events.endpoint,
                 "publish KV-cache events (vLLM's ZeroMQ/msgpack format) on a PUB socket bound "
                 "here, e.g. tcp://*:5557 (default: off)");
  app.add_option("--kv-events-replay-endpoint", opt.kv_events.replay_endpoint,
                 "ROUTER socket bound here answers replay requests for missed batches, e.g. "
                 "tcp://*:5558");
  app.add_option("--kv-events-topic", opt.kv_events.topic, "first frame of every event message");
  app.add_option("--kv-events-buffer-steps", opt.kv_events.buffer_steps,
                 "batches kept for replay")
      ->check(CLI::Range(1, 1000000));
  AddEngineFlags(&app, &opt.engine);
  AddRoleFlags(&app, &opt.role);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return Serve(std::move(opt));
}

}  // namespace kvs::tools
