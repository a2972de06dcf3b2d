#include "tools/serve_roles.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "disagg/model_fingerprint.h"
#include "disagg/prefill_service.h"
#include "disagg/transfer_metrics.h"
#include "server/api_error.h"
#include "server/auth.h"
#include "server/generation_route.h"
#include "server/http_front_end.h"

namespace kvs::tools {
namespace {

nlohmann::json LinksJson(const std::vector<KvLinkInfo>& links) {
  nlohmann::json out = nlohmann::json::array();
  for (const KvLinkInfo& l : links) {
    out.push_back({{"peer", l.peer},
                   {"connected", l.connected},
                   {"error", l.error},
                   {"requests_ok", l.stats.requests_ok},
                   {"requests_failed", l.stats.requests_failed},
                   {"blocks", l.stats.blocks},
                   {"kv_blocks_used", l.kv_blocks_used},
                   {"bytes", l.stats.bytes}});
  }
  return out;
}

// The prefill worker's HTTP routes: health, metrics and /kvs/info; anything
// else is an OpenAI-style 404 that says where completions go.
class PrefillApp final : public server::HttpApp {
 public:
  PrefillApp(const server::ServerConfig& config, std::string info_base,
             const PrefillService* service)
      : config_(config), auth_(config.api_keys), info_base_(std::move(info_base)),
        service_(service) {}

  bool RefuseHead(const server::HttpRequest&, server::HttpResponse&) override { return false; }
  void Finalize(const server::HttpRequest&, server::HttpResponse&) override {}
  void Handle(const server::HttpRequest& req, server::HttpResponse& res) override {
    using server::SendError;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (get && req.path == "/health") {
      return res.SetContent(R"({"status":"ok","role":"prefill"})", "application/json");
    }
    if (get && (req.path == "/metrics" || req.path == "/kvs/info")) {
      if (!config_.metrics_public && !auth_.Authenticate(req.Header("Authorization"))) {
        return SendError(res, server::Unauthorized());
      }
      if (req.path == "/metrics") {
        return res.SetContent(TransferMetricsText(service_->Totals(), "prefill"),
                              "text/plain; version=0.0.4");
      }
      nlohmann::json info = nlohmann::json::parse(info_base_);
      info["links"] = LinksJson(service_->Links());
      return res.SetContent(info.dump(), "application/json");
    }
    server::ApiError e = server::NotFoundRoute(req.method + " " + req.path);
    e.message += " (this is a prefill worker: send completions to the router or a decode worker)";
    SendError(res, e);
  }

 private:
  const server::ServerConfig& config_;
  const server::ApiKeyAuth auth_;
  const std::string info_base_;
  const PrefillService* service_;
};

StatusOr<TransportKind> Transport(const RoleOptions& opt) {
  return ParseTransportKind(opt.transport);
}

}  // namespace

void AddRoleFlags(CLI::App* app, RoleOptions* opt) {
  app->add_option("--role", opt->role,
                  "both (one engine), or a disaggregated worker: prefill (computes prompts' KV "
                  "and sends it to decode workers) or decode (serves the API, takes prompt KV "
                  "from prefill workers named by the router)")
      ->check(CLI::IsMember({"both", "prefill", "decode"}));
  app->add_option("--kv-transport", opt->transport, "KV transfer between workers: tcp or ucx")
      ->check(CLI::IsMember({"tcp", "ucx"}));
  app->add_option("--kv-host", opt->kv_host, "decode role: address the KV port listens on");
  app->add_option("--kv-port", opt->kv_port,
                  "decode role: KV port prefill workers connect to (0: any free port, printed)")
      ->check(CLI::Range(0, 65535));
  app->add_option("--kv-peer", opt->kv_peers,
                  "prefill role: a decode worker's KV address host:port (repeatable or "
                  "comma-separated); each gets a KV pool of its own, --kv-cache-tokens/-mb "
                  "sizing one (default two contexts)")
      ->delimiter(',');
  app->add_option("--worker-name", opt->name,
                  "this worker's name in the KV handshake and /kvs/info (default "
                  "role-hostname-pid)");
}

std::string WorkerName(const RoleOptions& opt) {
  if (!opt.name.empty()) return opt.name;
  char host[64] = {};
  gethostname(host, sizeof(host) - 1);
  std::string name = opt.role + "-" + host;
  name = name.substr(0, 40) + "-" + std::to_string(getpid());
  return name;
}

StatusOr<std::unique_ptr<DecodeService>> StartDecodeService(const RoleOptions& opt,
                                                            const Model& model,
                                                            KvStorage* storage) {
  DecodeServiceConfig c;
  KVS_ASSIGN_OR_RETURN(c.transport, Transport(opt));
  c.host = opt.kv_host;
  c.port = opt.kv_port;
  c.name = WorkerName(opt);
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<DecodeService> service,
                       DecodeService::Create(c, ModelFingerprint(model), model.config(), storage));
  std::printf("kvserve: KV port %d (%s), worker %s\n", service->port(), opt.transport.c_str(),
              c.name.c_str());
  std::fflush(stdout);
  return service;
}

server::WorkerHooks DecodeHooks(const RoleOptions& opt, const DecodeService* service,
                                const EngineLoop* engine) {
  nlohmann::json base = {{"role", "decode"},
               {"name", WorkerName(opt)},
               {"kv_transport", opt.transport},
               {"kv_port", service->port()}};
  server::WorkerHooks hooks;
  hooks.metrics = [service] { return TransferMetricsText(service->Totals(), "decode"); };
  hooks.info = [base, service, engine] {
    nlohmann::json info = base;
    const EngineStats st = engine->Stats();
    info["requests_waiting"] = st.requests_waiting;
    info["requests_running"] = st.requests_running;
    info["kv_blocks_total"] = st.kv_blocks_total;
    info["kv_blocks_used"] = st.kv_blocks_used;
    info["links"] = LinksJson(service->Links());
    info["last_refusal"] = service->LastRefusal();
    return info.dump();
  };
  return hooks;
}

int ServePrefill(const RoleOptions& opt, const Model& model, const EngineFlags& engine,
                 const server::ServerConfig& server_config, sigset_t signals) {
  auto fail = [](const char* what, const Status& s) {
    std::fprintf(stderr, "kvserve serve: %s: %s\n", what, s.ToString().c_str());
    return 1;
  };
  PrefillServiceConfig c;
  StatusOr<TransportKind> kind = Transport(opt);
  if (!kind.ok()) return fail("--kv-transport", kind.status());
  c.transport = *kind;
  c.peers = opt.kv_peers;
  c.worker.name = WorkerName(opt);
  c.worker.max_chunk_tokens = ResolveEngineConfig(engine).max_batched_tokens;
  c.worker.enable_prefix_caching = !engine.no_prefix_cache;
  // A link's pool holds one prompt at a time plus its prefix cache: unless
  // the operator sized it, two full contexts per link rather than serve's
  // sixteen (each decode worker gets a pool of its own here).
  EngineFlags sized = engine;
  if (sized.kv_cache_tokens <= 0 && sized.kv_cache_mb <= 0) {
    sized.kv_cache_tokens = 2 * int64_t{model.config().context_length};
  }
  c.runner = ResolveRunnerConfig(sized, model);
  const Fingerprint fp = ModelFingerprint(model);
  auto service_or = PrefillService::Create(&model, fp, c);
  if (!service_or.ok()) return fail("starting the prefill worker", service_or.status());
  std::unique_ptr<PrefillService> service = std::move(service_or).value();
  const std::string info = nlohmann::json{{"role", "prefill"},
                                {"name", c.worker.name},
                                {"kv_transport", opt.transport},
                                {"model_fingerprint", FingerprintHex(fp)}}
                               .dump();
  PrefillApp app(server_config, info, service.get());
  server::HttpFrontEnd http(server_config, &app);
  StatusOr<int> port = http.Bind(server_config.host, server_config.port);
  if (!port.ok()) return fail("binding", port.status());
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "kvserve serve: %s, shutting down\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    service->Stop();
    http.Close();
  });
  std::fprintf(stderr, "kvserve serve: prefill worker %s, model %s, decode workers:",
               c.worker.name.c_str(), model.Describe().c_str());
  for (const std::string& p : c.peers) std::fprintf(stderr, " %s", p.c_str());
  std::fprintf(stderr, "\n");
  std::printf("kvserve: ready on http://%s:%d (prefill worker %s)\n", server_config.host.c_str(),
              *port, c.worker.name.c_str());
  std::fflush(stdout);
  http.Run();
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  service->Stop();
  std::fprintf(stderr, "kvserve serve: stopped\n");
  return 0;
}

}  // namespace kvs::tools
