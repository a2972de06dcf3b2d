// kvserve router: the OpenAI API in front of disaggregated workers. Each
// request goes to a decode worker (which streams the answer) with the name
// of the prefill worker that computes its prompt's KV; see
// src/router/router_app.h and docs/design.md.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "router/router_app.h"
#include "router/worker_pool.h"
#include "server/http_front_end.h"
#include "tools/commands.h"
#include "tools/server_process.h"

namespace kvs::tools {

int RunRouter(int argc, char** argv) {
  server::ServerConfig config;
  router::WorkerPoolConfig pool_config;
  CLI::App app{"OpenAI-compatible front end over prefill and decode workers", "kvserve router"};
  app.add_option("--prefill", pool_config.prefill_urls,
                 "a prefill worker's HTTP URL, http://host:port (repeatable or comma-separated)")
      ->delimiter(',');
  app.add_option("--decode", pool_config.decode_urls,
                 "a decode worker's HTTP URL (repeatable or comma-separated)")
      ->delimiter(',')
      ->required();
  app.add_option("--host", config.host, "address to listen on");
  app.add_option("--port", config.port, "port (0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--api-key", config.api_keys,
                 "accepted API key (repeatable); forwarded to the workers, which should take the "
                 "same keys");
  app.add_option("--max-concurrent-requests", config.max_concurrent_requests,
                 "generation requests in flight; 429 past it")
      ->check(CLI::Range(1, 100000));
  app.add_option("--max-body-bytes", config.max_body_bytes, "413 past it")
      ->check(CLI::Range(1024, 1 << 30));
  app.add_option("--http-threads", config.n_http_threads, "HTTP I/O threads (0: 2)")
      ->check(CLI::Range(0, 256));
  app.add_option("--probe-interval-ms", pool_config.probe_interval_ms,
                 "how often each worker's /kvs/info is read (health, links, queue)")
      ->check(CLI::Range(50, 600000));
  app.add_flag("--metrics-public", config.metrics_public,
               "serve /metrics and /kvs/info without the API key");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!config.api_keys.empty()) pool_config.probe_api_key = config.api_keys[0];

  sigset_t signals = SetUpServerProcess();

  auto pool = router::WorkerPool::Create(pool_config);
  if (!pool.ok()) {
    std::fprintf(stderr, "kvserve router: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  router::RouterApp routes(config, pool->get());
  server::HttpFrontEnd http(config, &routes);
  StatusOr<int> port = http.Bind(config.host, config.port);
  if (!port.ok()) {
    std::fprintf(stderr, "kvserve router: binding: %s\n", port.status().ToString().c_str());
    return 1;
  }
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "kvserve router: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    routes.BeginShutdown();
    http.Close();
  });
  std::fprintf(stderr, "kvserve router: %zu prefill and %zu decode workers; %s\n",
               pool_config.prefill_urls.size(), pool_config.decode_urls.size(),
               (*pool)->Info().dump().c_str());
  std::printf("kvserve: ready on http://%s:%d (router)\n", config.host.c_str(), *port);
  std::fflush(stdout);
  http.Run();
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  std::fprintf(stderr, "kvserve router: stopped\n");
  return 0;
}

}  // namespace kvs::tools
