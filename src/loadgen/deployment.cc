#include "loadgen/deployment.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "loadgen/prometheus_text.h"
#include "loadgen/server_info.h"

namespace kvs::loadgen {
namespace {

std::string LogTail(const std::string& path, size_t n_bytes = 1500) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > n_bytes ? s.substr(s.size() - n_bytes) : s;
}

std::string GetBody(const Endpoint& e, const std::string& path) {
  httplib::Client c(e.host, e.port);
  c.set_connection_timeout(std::chrono::seconds(2));
  c.set_read_timeout(std::chrono::seconds(5));
  httplib::Headers h;
  if (!e.api_key.empty()) h.emplace("Authorization", "Bearer " + e.api_key);
  auto r = c.Get(path, h);
  if (!r || r->status != 200) return "";
  return r->body;
}

Endpoint Local(int port, const std::string& api_key) {
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  e.api_key = api_key;
  return e;
}

}  // namespace

StatusOr<std::unique_ptr<Deployment>> Deployment::Start(const ServeConfig& config,
                                                        const std::string& api_key) {
  std::unique_ptr<Deployment> d(new Deployment(config));
  const std::string key =
      api_key.empty() && !config.api_keys.empty() ? config.api_keys.front() : api_key;
  KVS_RETURN_IF_ERROR(config.disagg ? d->StartDisagg(key) : d->StartColocated(key));
  return d;
}

Deployment::~Deployment() { Finish(); }

int Deployment::pid() const { return serve_ ? serve_->pid() : 0; }

std::vector<std::string> Deployment::ServeArgs(int port) const {
  const ServeConfig& s = config_;
  std::vector<std::string> argv = {s.binary,    "serve",  "-m", s.model, "--host",
                                   "127.0.0.1", "--port", std::to_string(port)};
  if (!s.tokenizer.empty()) argv.insert(argv.end(), {"--tokenizer", s.tokenizer});
  for (const auto& k : s.api_keys) argv.insert(argv.end(), {"--api-key", k});
  argv.insert(argv.end(), s.extra_args.begin(), s.extra_args.end());
  return argv;
}

StatusOr<std::unique_ptr<ServerProcess>> Deployment::Launch(std::vector<std::string> args,
                                                            const std::string& log_suffix,
                                                            const Endpoint& ready) {
  const std::string log = config_.log_path + log_suffix;
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<ServerProcess> p, ServerProcess::Start(args, log));
  Status up = WaitUntilReady(ready, config_.ready_timeout_s);
  if (!up.ok() || !p->Running()) {
    p->Stop();
    return UnavailableError(args[1] + " did not come up (" +
                            (up.ok() ? p->exit_description() : up.message()) +
                            "); its log ends with:\n" + LogTail(log));
  }
  return p;
}

Status Deployment::StartColocated(const std::string& api_key) {
  KVS_ASSIGN_OR_RETURN(int port, PickFreeLoopbackPort());
  endpoint_ = Local(port, api_key);
  KVS_ASSIGN_OR_RETURN(serve_, Launch(ServeArgs(port), "", endpoint_));
  return Status::Ok();
}

Status Deployment::StartDisagg(const std::string& api_key) {
  KVS_ASSIGN_OR_RETURN(int decode_port, PickFreeLoopbackPort());
  KVS_ASSIGN_OR_RETURN(int kv_port, PickFreeLoopbackPort());
  KVS_ASSIGN_OR_RETURN(int prefill_port, PickFreeLoopbackPort());
  KVS_ASSIGN_OR_RETURN(int router_port, PickFreeLoopbackPort());
  std::vector<std::string> d = ServeArgs(decode_port);
  d.insert(d.end(), {"--role", "decode", "--kv-port", std::to_string(kv_port), "--kv-transport",
                     config_.kv_transport, "--worker-name", "decode0"});
  d.insert(d.end(), config_.decode_args.begin(), config_.decode_args.end());
  const Endpoint decode_at = Local(decode_port, api_key);
  KVS_ASSIGN_OR_RETURN(serve_, Launch(d, ".decode", decode_at));
  std::vector<std::string> p = ServeArgs(prefill_port);
  p.insert(p.end(), {"--role", "prefill", "--kv-peer", "127.0.0.1:" + std::to_string(kv_port),
                     "--kv-transport", config_.kv_transport, "--worker-name", "prefill0"});
  p.insert(p.end(), config_.prefill_args.begin(), config_.prefill_args.end());
  prefill_at_ = Local(prefill_port, api_key);
  // The prefill worker serves no /v1/models: wait for its /health by hand.
  const std::string plog = config_.log_path + ".prefill";
  KVS_ASSIGN_OR_RETURN(prefill_, ServerProcess::Start(p, plog));
  std::vector<std::string> r = {config_.binary, "router", "--host", "127.0.0.1", "--port",
                                std::to_string(router_port), "--probe-interval-ms", "200",
                                "--prefill", "http://127.0.0.1:" + std::to_string(prefill_port),
                                "--decode", "http://127.0.0.1:" + std::to_string(decode_port)};
  for (const auto& k : config_.api_keys) r.insert(r.end(), {"--api-key", k});
  endpoint_ = Local(router_port, api_key);
  // Up, and the decode worker paired with the prefill worker (as the
  // router sees it), or the load would run colocated on the decode worker.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(config_.ready_timeout_s);
  bool linked = false;
  while (!linked && std::chrono::steady_clock::now() < deadline) {
    if (!prefill_->Running()) {
      return UnavailableError("the prefill worker exited (" + prefill_->exit_description() +
                              "); its log ends with:\n" + LogTail(plog));
    }
    if (router_ == nullptr && !GetBody(prefill_at_, "/health").empty()) {
      KVS_ASSIGN_OR_RETURN(router_, Launch(r, ".router", endpoint_));
    }
    if (router_ != nullptr) {
      const nlohmann::json info =
          nlohmann::json::parse(GetBody(endpoint_, "/kvs/info"), nullptr, false);
      linked = info.is_object() && !info["decode"].empty() && !info["decode"][0]["linked"].empty();
    }
    if (!linked) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!linked) {
    return UnavailableError("the prefill and decode workers did not pair; the prefill log ends "
                            "with:\n" + LogTail(plog));
  }
  return Status::Ok();
}

nlohmann::json Deployment::Finish() {
  nlohmann::json out;
  if (finished_) return out;
  finished_ = true;
  if (serve_ == nullptr) return out;
  const bool alive = serve_->Running() && (!prefill_ || prefill_->Running()) &&
                     (!router_ || router_->Running());
  out["server_crashed"] = !alive;
  std::string exit;
  for (ServerProcess* p : {serve_.get(), prefill_.get(), router_.get()}) {
    if (p != nullptr && !p->Running()) exit += (exit.empty() ? "" : "; ") + p->exit_description();
  }
  out["server_exit"] = exit;
  if (config_.disagg && prefill_ && prefill_->Running()) {
    const PrometheusSamples m = PrometheusSamples::Parse(GetBody(prefill_at_, "/metrics"));
    auto get = [&](const std::string& name, const std::string& labels) {
      return m.GetSeries(name, labels).value_or(-1);
    };
    const std::string role = "role=\"prefill\"";
    nlohmann::json t = {
        {"requests_ok", get("kvserve_kv_transfer_requests_total", role + ",result=\"ok\"")},
        {"bytes", get("kvserve_kv_transfer_bytes_total", role)},
        {"blocks", get("kvserve_kv_transfer_blocks_total", role)},
        {"compute_s", get("kvserve_kv_transfer_seconds_total", role + ",phase=\"compute\"")},
        {"send_s", get("kvserve_kv_transfer_seconds_total", role + ",phase=\"send\"")},
        {"exposed_s", get("kvserve_kv_transfer_seconds_total", role + ",phase=\"exposed\"")},
        {"tail_s", get("kvserve_kv_transfer_seconds_total", role + ",phase=\"tail\"")},
        {"hidden_ratio", get("kvserve_kv_transfer_hidden_ratio", role)}};
    nlohmann::json layers = nlohmann::json::array();
    for (int l = 0;; ++l) {
      const std::string lab = role + ",layer=\"" + std::to_string(l) + "\"";
      const double send = get("kvserve_kv_transfer_layer_seconds_total", lab + ",phase=\"send\"");
      if (send < 0) break;
      const double exposed =
          get("kvserve_kv_transfer_layer_seconds_total", lab + ",phase=\"exposed\"");
      layers.push_back({{"send_s", send},
                        {"exposed_s", exposed},
                        {"hidden_ratio", send > 0 ? 1.0 - exposed / send : 1.0}});
    }
    t["layers"] = layers;
    out["kv_transfer"] = t;
  }
  for (ServerProcess* p : {router_.get(), prefill_.get(), serve_.get()}) {
    if (p != nullptr) p->Stop();
  }
  return out;
}

}  // namespace kvs::loadgen
