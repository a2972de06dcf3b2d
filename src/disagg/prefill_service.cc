#include "disagg/prefill_service.h"

#include "base/host_port.h"

#include <chrono>
#include <cstdio>
#include <utility>

namespace kvs {

StatusOr<std::unique_ptr<PrefillService>> PrefillService::Create(
    const Model* model, const Fingerprint& fingerprint, const PrefillServiceConfig& config) {
  if (model == nullptr) return InvalidArgumentError("prefill service needs a model");
  if (config.peers.empty()) return InvalidArgumentError("a prefill worker needs --kv-peer");
  if (config.worker.name.empty() || config.worker.name.size() >= kMaxWorkerNameBytes) {
    return InvalidArgumentError("worker name must be 1 to " +
                                std::to_string(kMaxWorkerNameBytes - 1) + " bytes");
  }
  std::unique_ptr<PrefillService> s(new PrefillService(fingerprint, config));
  for (const std::string& address : config.peers) {
    StatusOr<HostPort> hp = ParseHostPort(address);
    if (!hp.ok()) return InvalidArgumentError("decode worker address " + hp.status().message());
    auto link = std::make_unique<Link>();
    link->address = address;
    link->host = hp->host;
    link->port = hp->port;
    link->peer = address;
    KVS_ASSIGN_OR_RETURN(link->runner, BackendRunner::Create(model, config.runner));
    s->links_.push_back(std::move(link));
  }
  for (auto& link : s->links_) {
    Link* raw = link.get();
    PrefillService* self = s.get();
    link->thread = std::thread([self, raw] { self->Run(raw); });
  }
  return s;
}

PrefillService::PrefillService(const Fingerprint& fingerprint, const PrefillServiceConfig& config)
    : fingerprint_(fingerprint), config_(config) {}

PrefillService::~PrefillService() { Stop(); }

void PrefillService::Stop() {
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& link : links_) {
      if (link->worker != nullptr) link->worker->Close();
    }
  }
  for (auto& link : links_) {
    if (link->thread.joinable()) link->thread.join();
  }
}

void PrefillService::SetError(Link* link, const Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (link->error != s.message()) {
    std::fprintf(stderr, "kvserve serve: decode worker %s: %s\n", link->address.c_str(),
                 s.ToString().c_str());
  }
  link->error = s.message();
}

void PrefillService::Run(Link* link) {
  auto pause = [this] {
    for (int waited = 0; waited < config_.retry_ms && !stop_.load(); waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  while (!stop_.load()) {
    StatusOr<std::unique_ptr<Transport>> t =
        ConnectTransport(config_.transport, link->host, link->port, 1000);
    if (!t.ok()) {
      SetError(link, t.status());
      pause();
      continue;
    }
    StatusOr<std::unique_ptr<PrefillWorker>> made =
        PrefillWorker::Create(link->runner.get(), fingerprint_, std::move(t).value(),
                              config_.worker);
    if (!made.ok()) {
      SetError(link, made.status());  // e.g. another model file: refused
      pause();
      continue;
    }
    std::unique_ptr<PrefillWorker> worker = std::move(made).value();
    {
      std::lock_guard<std::mutex> lock(mu_);
      link->worker = worker.get();
      link->peer = worker->peer_name();
      link->error.clear();
      if (stop_.load()) worker->Close();
    }
    std::fprintf(stderr, "kvserve serve: paired with decode worker '%s' at %s\n",
                 worker->peer_name().c_str(), link->address.c_str());
    Status ended;
    while (!stop_.load()) {
      StatusOr<std::optional<PrefillJob>> job = worker->NextJob(200);
      if (!job.ok()) {
        ended = job.status();
        break;
      }
      if (!job->has_value()) continue;
      const PrefillJob& j = **job;
      std::lock_guard<std::mutex> compute(compute_mu_);
      // A failed request is reported to the decode side by Prefill itself.
      (void)worker->Prefill(j.id, j.prompt, j.salt);
      const int64_t used = worker->kv().Stats().blocks_used;
      std::lock_guard<std::mutex> lock(mu_);
      link->kv_blocks_used = used;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      link->retired += worker->Stats();
      link->worker = nullptr;
      link->kv_blocks_used = 0;  // a new connection starts a new KV manager
    }
    worker.reset();
    if (!ended.ok()) SetError(link, ended);
  }
}

std::vector<KvLinkInfo> PrefillService::Links() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KvLinkInfo> out;
  for (const auto& link : links_) {
    KvLinkInfo info;
    info.peer = link->peer;
    info.connected = link->worker != nullptr && link->worker->link_ok();
    info.error = link->error;
    info.stats = link->retired;
    info.kv_blocks_used = link->kv_blocks_used;
    if (link->worker != nullptr) info.stats += link->worker->Stats();
    out.push_back(std::move(info));
  }
  return out;
}

TransferStats PrefillService::Totals() const {
  TransferStats t;
  for (const KvLinkInfo& l : Links()) t += l.stats;
  return t;
}

}  // namespace kvs
