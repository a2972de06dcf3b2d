#include "disagg/decode_service.h"

#include <cstdio>
#include <utility>

#include "disagg/model_fingerprint.h"

namespace kvs {

StatusOr<std::unique_ptr<DecodeService>> DecodeService::Create(const DecodeServiceConfig& config,
                                                               const Fingerprint& model,
                                                               const ModelConfig& model_config,
                                                               KvStorage* storage) {
  if (storage == nullptr) return InvalidArgumentError("decode service needs the KV storage");
  if (config.name.empty() || config.name.size() >= kMaxWorkerNameBytes) {
    return InvalidArgumentError("worker name must be 1 to " +
                                std::to_string(kMaxWorkerNameBytes - 1) + " bytes");
  }
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<TransportListener> listener,
                       ListenTransport(config.transport, config.host, config.port));
  return std::unique_ptr<DecodeService>(
      new DecodeService(config, model, model_config, storage, std::move(listener)));
}

DecodeService::DecodeService(const DecodeServiceConfig& config, const Fingerprint& model,
                             const ModelConfig& model_config, KvStorage* storage,
                             std::unique_ptr<TransportListener> listener)
    : config_(config),
      model_(model),
      model_config_(model_config),
      storage_(storage),
      listener_(std::move(listener)) {}

DecodeService::~DecodeService() {
  StopAccepting();
  // Detach (engine thread) normally emptied these; without an engine loop
  // (a failed start) nothing was submitted.
  std::lock_guard<std::mutex> lock(mu_);
  incoming_.clear();
}

void DecodeService::StopAccepting() {
  stop_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
}

void DecodeService::Attach(Engine* engine, std::function<void()> wake) {
  engine_ = engine;
  wake_ = std::move(wake);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

void DecodeService::AcceptLoop() {
  while (!stop_.load()) {
    StatusOr<std::unique_ptr<Transport>> t = listener_->Accept(200);
    if (!t.ok()) continue;  // timeout (or a connection that failed at once)
    DecodeWorkerConfig dc;
    dc.frame_stall_ms = config_.frame_stall_ms;
    dc.name = config_.name;
    dc.on_event = wake_;
    // The handshake waits at most its own timeout for a silent peer.
    StatusOr<std::unique_ptr<DecodeWorker>> w = DecodeWorker::Create(
        engine_, storage_, model_config_, model_, std::move(t).value(), dc);
    if (!w.ok()) {
      std::fprintf(stderr, "kvserve serve: refused a prefill worker: %s\n",
                   w.status().ToString().c_str());
      std::lock_guard<std::mutex> lock(mu_);
      last_refusal_ = w.status().message();
      continue;
    }
    std::fprintf(stderr, "kvserve serve: prefill worker '%s' connected\n",
                 (*w)->peer_name().c_str());
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming_.push_back(std::move(w).value());
    }
    wake_();
  }
}

Status DecodeService::Submit(const std::string& source, RequestId id, GenerationRequest request,
                             std::shared_ptr<OutputStream> stream) {
  auto it = workers_.find(source);
  if (it == workers_.end() || !it->second->link_ok()) {
    return UnavailableError("no KV link to prefill worker '" + source + "'");
  }
  return it->second->Submit(id, std::move(request), std::move(stream));
}

bool DecodeService::AbortIfPending(RequestId id) {
  for (auto& [name, w] : workers_) {
    if (w->AbortIfPending(id)) return true;
  }
  return false;
}

void DecodeService::Poll() {
  std::vector<std::unique_ptr<DecodeWorker>> fresh;
  std::vector<std::unique_ptr<DecodeWorker>> gone;  // destroyed outside mu_
  {
    std::lock_guard<std::mutex> lock(mu_);
    fresh.swap(incoming_);
    for (auto& w : fresh) {
      std::unique_ptr<DecodeWorker>& slot = workers_[w->peer_name()];
      if (slot != nullptr) {
        // The same prefill worker reconnected: the old link is dead or about
        // to be; its pending requests end (the destructor cancels them).
        retired_ += slot->Stats();
        slot->Close();
        gone.push_back(std::move(slot));
      }
      slot = std::move(w);
    }
  }
  gone.clear();
  for (auto it = workers_.begin(); it != workers_.end();) {
    DecodeWorker& w = *it->second;
    w.Poll();
    if (!w.link_ok() && !w.HasPending()) {
      std::unique_ptr<DecodeWorker> dead;
      {
        std::lock_guard<std::mutex> lock(mu_);
        retired_ += w.Stats();
        dead = std::move(it->second);
        it = workers_.erase(it);
      }
    } else {
      ++it;
    }
  }
}

bool DecodeService::HasPending() const {
  for (const auto& [name, w] : workers_) {
    if (w->HasPending()) return true;
  }
  std::lock_guard<std::mutex> lock(mu_);
  return !incoming_.empty();
}

void DecodeService::Detach() {
  StopAccepting();
  std::map<std::string, std::unique_ptr<DecodeWorker>> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, w] : workers_) retired_ += w->Stats();
    workers.swap(workers_);
    incoming_.clear();
  }
  workers.clear();  // each cancels its imports and ends its waiting streams
}

std::vector<KvLinkInfo> DecodeService::Links() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KvLinkInfo> links;
  for (const auto& [name, w] : workers_) {
    KvLinkInfo info;
    info.peer = name;
    info.connected = w->link_ok();
    info.stats = w->Stats();
    links.push_back(std::move(info));
  }
  return links;
}

std::string DecodeService::LastRefusal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_refusal_;
}

TransferStats DecodeService::Totals() const {
  std::lock_guard<std::mutex> lock(mu_);
  TransferStats totals = retired_;
  for (const auto& [name, w] : workers_) totals += w->Stats();
  return totals;
}

}  // namespace kvs
