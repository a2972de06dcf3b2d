#include "router/worker_pool.h"

#include <httplib.h>

#include "base/host_port.h"

#include <algorithm>
#include <chrono>

namespace kvs::router {

using Json = nlohmann::json;

StatusOr<Upstream> ParseWorkerUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return InvalidArgumentError("worker URL '" + url + "' must start with http://");
  }
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return InvalidArgumentError("worker URL '" + url + "' must be http://host:port");
  }
  StatusOr<HostPort> hp = ParseHostPort(rest);
  if (!hp.ok()) return InvalidArgumentError("worker URL " + hp.status().message());
  return Upstream{url, hp->host, hp->port};
}

StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(const WorkerPoolConfig& config) {
  if (config.decode_urls.empty()) return InvalidArgumentError("the router needs --decode workers");
  std::unique_ptr<WorkerPool> pool(new WorkerPool(config));
  for (const std::string& u : config.prefill_urls) {
    KVS_ASSIGN_OR_RETURN(Upstream at, ParseWorkerUrl(u));
    pool->prefill_.push_back(Worker{at, {}, 0, 0, 0, "", ""});
  }
  for (const std::string& u : config.decode_urls) {
    KVS_ASSIGN_OR_RETURN(Upstream at, ParseWorkerUrl(u));
    pool->decode_.push_back(Worker{at, {}, 0, 0, 0, "", ""});
  }
  pool->ProbeAll();
  WorkerPool* raw = pool.get();
  pool->prober_ = std::thread([raw] { raw->ProbeLoop(); });
  return pool;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (prober_.joinable()) prober_.join();
}

void WorkerPool::ProbeLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(config_.probe_interval_ms));
    if (stop_) break;
    lock.unlock();
    ProbeAll();
    lock.lock();
  }
}

void WorkerPool::ProbeAll() {
  std::lock_guard<std::mutex> serial(probe_mu_);
  size_t n_prefill, n_decode;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n_prefill = prefill_.size();
    n_decode = decode_.size();
  }
  // Probe copies outside the lock; write back what was learned.
  for (size_t i = 0; i < n_prefill + n_decode; ++i) {
    const bool decode = i >= n_prefill;
    Worker w;
    {
      std::lock_guard<std::mutex> lock(mu_);
      w = decode ? decode_[i - n_prefill] : prefill_[i];
    }
    Probe(&w, decode);
    std::lock_guard<std::mutex> lock(mu_);
    Worker& dst = decode ? decode_[i - n_prefill] : prefill_[i];
    dst.view.up = w.view.up;
    dst.view.name = w.view.name;
    dst.view.linked = std::move(w.view.linked);
    dst.view.kv_free = w.view.kv_free;
    dst.queued = w.queued;
    dst.error = std::move(w.error);
    if (decode && w.view.up && !w.models.empty()) models_json_ = std::move(w.models);
  }
}

void WorkerPool::Probe(Worker* w, bool decode) {
  httplib::Client cli(w->at.host, w->at.port);
  const auto timeout = std::chrono::milliseconds(config_.probe_timeout_ms);
  cli.set_connection_timeout(timeout);
  cli.set_read_timeout(timeout);
  cli.set_write_timeout(timeout);
  httplib::Headers headers;
  if (!config_.probe_api_key.empty()) {
    headers.emplace("Authorization", "Bearer " + config_.probe_api_key);
  }
  auto res = cli.Get("/kvs/info", headers);
  w->view.up = false;
  w->view.linked.clear();
  w->models.clear();
  if (!res) {
    w->error = "unreachable: " + httplib::to_string(res.error());
    return;
  }
  if (res->status != 200) {
    w->error = "/kvs/info answered " + std::to_string(res->status);
    return;
  }
  Json info = Json::parse(res->body, nullptr, false);
  const std::string want = decode ? "decode" : "prefill";
  if (!info.is_object() || info.value("role", "") != want) {
    w->error = "not a " + want + " worker (/kvs/info: " + res->body.substr(0, 200) + ")";
    return;
  }
  w->view.name = info.value("name", "");
  if (decode) {
    for (const Json& l : info.value("links", Json::array())) {
      if (l.value("connected", false)) w->view.linked.push_back(l.value("peer", ""));
    }
    w->queued = info.value("requests_waiting", int64_t{0});
    const double total = info.value("kv_blocks_total", 0.0);
    w->view.kv_free = total > 0 ? 1.0 - info.value("kv_blocks_used", 0.0) / total : 1.0;
    auto models = cli.Get("/v1/models", headers);
    if (models && models->status == 200) w->models = models->body;
  }
  w->view.up = true;
  w->error.clear();
}

std::optional<WorkerPool::Target> WorkerPool::Acquire(uint64_t key,
                                                      const std::vector<int>& exclude_decode,
                                                      const std::vector<int>& exclude_prefill,
                                                      bool colocated) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkerView> d, p;
  for (size_t i = 0; i < decode_.size(); ++i) {
    WorkerView v = decode_[i].view;
    v.load = decode_[i].in_flight + decode_[i].queued;
    v.excluded = std::count(exclude_decode.begin(), exclude_decode.end(), int(i)) > 0;
    d.push_back(std::move(v));
  }
  if (!colocated) {
    for (size_t i = 0; i < prefill_.size(); ++i) {
      WorkerView v = prefill_[i].view;
      v.load = prefill_[i].in_flight;
      v.excluded = std::count(exclude_prefill.begin(), exclude_prefill.end(), int(i)) > 0;
      p.push_back(std::move(v));
    }
  }
  const PlacementChoice c = Place(d, p, key);
  if (c.decode < 0) return std::nullopt;
  Target t;
  t.decode = c.decode;
  t.prefill = c.prefill;
  t.decode_at = decode_[c.decode].at;
  decode_[c.decode].in_flight++;
  decode_[c.decode].requests++;
  if (c.prefill >= 0) {
    t.prefill_name = prefill_[c.prefill].view.name;
    prefill_[c.prefill].in_flight++;
    prefill_[c.prefill].requests++;
  }
  return t;
}

void WorkerPool::Release(const Target& t) {
  std::lock_guard<std::mutex> lock(mu_);
  if (t.decode >= 0) decode_[t.decode].in_flight--;
  if (t.prefill >= 0) prefill_[t.prefill].in_flight--;
}

void WorkerPool::MarkDecodeDown(int decode) {
  std::lock_guard<std::mutex> lock(mu_);
  decode_[decode].view.up = false;
  decode_[decode].error = "connection failed";
}

bool WorkerPool::AnyDecodeUp() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Worker& w : decode_) {
    if (w.view.up) return true;
  }
  return false;
}

std::string WorkerPool::ModelsJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_json_;
}

Json WorkerPool::Info() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto list = [](const std::vector<Worker>& ws) {
    Json out = Json::array();
    for (const Worker& w : ws) {
      out.push_back({{"url", w.at.url},
                     {"name", w.view.name},
                     {"up", w.view.up},
                     {"in_flight", w.in_flight},
                     {"requests", w.requests},
                     {"linked", w.view.linked},
                     {"kv_free", w.view.kv_free},
                     {"error", w.error}});
    }
    return out;
  };
  return {{"role", "router"}, {"prefill", list(prefill_)}, {"decode", list(decode_)}};
}

std::string WorkerPool::MetricsText() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out =
      "# HELP kvserve_router_worker_up Whether the worker answered its last probe.\n"
      "# TYPE kvserve_router_worker_up gauge\n";
  auto lines = [&](const char* metric, auto value) {
    for (const char* role : {"prefill", "decode"}) {
      const std::vector<Worker>& ws = role[0] == 'p' ? prefill_ : decode_;
      for (const Worker& w : ws) {
        out += std::string(metric) + "{role=\"" + role + "\",worker=\"" + w.at.url + "\"} " +
               std::to_string(value(w)) + "\n";
      }
    }
  };
  lines("kvserve_router_worker_up", [](const Worker& w) { return w.view.up ? 1 : 0; });
  out += "# HELP kvserve_router_worker_in_flight Requests the router has on the worker now.\n"
         "# TYPE kvserve_router_worker_in_flight gauge\n";
  lines("kvserve_router_worker_in_flight", [](const Worker& w) { return w.in_flight; });
  out += "# HELP kvserve_router_worker_requests_total Requests placed on the worker.\n"
         "# TYPE kvserve_router_worker_requests_total counter\n";
  lines("kvserve_router_worker_requests_total", [](const Worker& w) { return w.requests; });
  return out;
}

}  // namespace kvs::router
