#include "disagg/prefill_worker.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "disagg/model_fingerprint.h"

namespace kvs {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

StatusOr<std::unique_ptr<PrefillWorker>> PrefillWorker::Create(BackendRunner* runner,
                                                               const Fingerprint& model,
                                                               std::unique_ptr<Transport> transport,
                                                               const PrefillWorkerConfig& config) {
  if (runner == nullptr || transport == nullptr) {
    return InvalidArgumentError("prefill worker needs a runner and a transport");
  }
  if (config.max_chunk_tokens < 1) return InvalidArgumentError("max_chunk_tokens < 1");
  if (config.frame_stall_ms < 1) return InvalidArgumentError("frame_stall_ms < 1");
  if (config.ping_interval_ms < 1) return InvalidArgumentError("ping_interval_ms < 1");
  const KvLayout layout =
      MakeKvLayout(model, runner->model().config(), runner->mutable_kv_storage());
  KVS_ASSIGN_OR_RETURN(std::string peer, Handshake(*transport, layout, config.name, "prefill"));
  return std::unique_ptr<PrefillWorker>(
      new PrefillWorker(runner, std::move(transport), layout, config, std::move(peer)));
}

PrefillWorker::PrefillWorker(BackendRunner* runner, std::unique_ptr<Transport> transport,
                             const KvLayout& layout, const PrefillWorkerConfig& config,
                             std::string peer_name)
    : runner_(runner),
      storage_(runner->mutable_kv_storage()),
      transport_(std::move(transport)),
      layout_(layout),
      config_(config),
      peer_name_(std::move(peer_name)),
      kv_(KvManagerConfig{runner->n_kv_blocks(), runner->block_size(),
                          config.enable_prefix_caching}) {
  // A chunk queues at most one item per layer; room for a few chunks lets
  // compute run ahead of a slow link before OnLayerKvStored waits.
  ring_.resize(size_t(4) * layout_.n_layers + 8);
  stats_.layer_busy_s.assign(layout_.n_layers, 0.0);
  stats_.layer_exposed_s.assign(layout_.n_layers, 0.0);
  parts_.resize(2 + 2 * kMaxBlocksPerFrame);
  runner_->set_layer_observer(this);
  reader_ = std::thread([this] { ReaderLoop(); });
  sender_ = std::thread([this] { SenderLoop(); });
}

PrefillWorker::~PrefillWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  transport_->Close();
  reader_.join();
  sender_.join();
  runner_->set_layer_observer(nullptr);
}

TransferStats PrefillWorker::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool PrefillWorker::link_ok() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_status_.ok();
}

StatusOr<std::optional<PrefillJob>> PrefillWorker::NextJob(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return !jobs_.empty() || !conn_status_.ok() || stop_; });
  if (!jobs_.empty()) {
    const AllocMessage& a = allocs_.at(jobs_.front());
    return std::optional<PrefillJob>(PrefillJob{jobs_.front(), a.prompt, a.salt});
  }
  if (!conn_status_.ok()) return conn_status_;
  if (stop_) return CancelledError("prefill worker is closing");
  return std::optional<PrefillJob>();
}

void PrefillWorker::ReaderLoop() {
  Status s;
  while (true) {
    FrameHeader h;
    s = ReadFrameHeader(*transport_, layout_.block_bytes, &h);
    if (!s.ok()) break;
    const auto type = static_cast<MsgType>(h.type);
    if (type == MsgType::kAlloc) {
      AllocMessage a;
      s = ReceiveAlloc(*transport_, h, config_.frame_stall_ms, &a);
      if (!s.ok()) break;
      a.received_ns = Clock::now().time_since_epoch().count();
      std::lock_guard<std::mutex> lock(mu_);
      if (allocs_.count(h.request_id) == 0) jobs_.push_back(h.request_id);
      allocs_[h.request_id] = std::move(a);
    } else if (type == MsgType::kFail) {
      std::string reason(h.payload_bytes, '\0');
      s = transport_->ReceiveWithin(reason.data(), reason.size(), config_.frame_stall_ms);
      if (!s.ok()) break;
      std::lock_guard<std::mutex> lock(mu_);
      peer_fails_[h.request_id] = std::move(reason);
    } else {
      s = DataLossError("decode engine sent an unexpected frame type " + std::to_string(h.type));
      break;
    }
    cv_.notify_all();
  }
  transport_->Close();  // the sender's next Send fails at once
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn_status_ = UnavailableError("link to the decode engine lost: " + s.message());
  }
  cv_.notify_all();
}

void PrefillWorker::Push(const SendItem& item) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return ring_size_ < ring_.size() || stop_; });
  if (stop_) return;
  ring_[(ring_head_ + ring_size_) % ring_.size()] = item;
  ++ring_size_;
  lock.unlock();
  cv_.notify_all();
}

void PrefillWorker::OnLayerKvStored(int layer) {
  if (send_first_ >= send_end_) return;
  Push(SendItem{SendItem::kLayer, layer, send_first_, send_end_});
}

Status PrefillWorker::SendLayer(const SendItem& item) {
  const int64_t bb = layout_.block_bytes;
  for (int first = item.first; first < item.end; first += kMaxBlocksPerFrame) {
    const int n = std::min(kMaxBlocksPerFrame, item.end - first);
    FrameHeader h;
    h.type = static_cast<uint16_t>(MsgType::kLayer);
    h.payload_bytes = static_cast<uint32_t>(sizeof(LayerPayload) + 2 * int64_t{n} * bb);
    h.request_id = cur_id_;
    LayerPayload lp{item.layer, first, n, 0};
    parts_[0] = {&h, sizeof(h)};
    parts_[1] = {&lp, sizeof(lp)};
    for (int i = 0; i < n; ++i) {
      const BlockId b = cur_table_[first + i];
      parts_[2 + i] = {storage_.block_data(item.layer, false, b), size_t(bb)};
      parts_[2 + n + i] = {storage_.block_data(item.layer, true, b), size_t(bb)};
    }
    const auto t0 = Clock::now();
    KVS_RETURN_IF_ERROR(transport_->Send({parts_.data(), size_t(2 + 2 * n)}));
    const auto t1 = Clock::now();
    const double busy = Seconds(t1 - t0);
    // The part of this send after the last layer was computed (none when
    // compute has not ended yet: it ends after t1).
    const int64_t ce = compute_end_ns_.load();
    double exposed = 0;
    if (ce != 0) {
      const auto end = Clock::time_point(Clock::duration(ce));
      exposed = t1 > end ? Seconds(t1 - std::max(t0, end)) : 0.0;
    }
    std::lock_guard<std::mutex> lock(mu_);
    stats_.send_busy_s += busy;
    stats_.exposed_s += exposed;
    stats_.layer_busy_s[item.layer] += busy;
    stats_.layer_exposed_s[item.layer] += exposed;
    stats_.bytes += 2 * int64_t{n} * bb;
    stats_.block_layers += n;
    stats_.frames++;
  }
  return Status::Ok();
}

void PrefillWorker::SenderLoop() {
  Status request_status;  // the first send error of the request in flight
  while (true) {
    SendItem item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool woke = cv_.wait_for(lock, std::chrono::milliseconds(config_.ping_interval_ms),
                                     [&] { return ring_size_ > 0 || stop_; });
      if (stop_) return;
      if (!woke) {
        // Idle (or computing a chunk with no block finished yet): tell the
        // decode side the link is alive. A failure shows in the reader.
        lock.unlock();
        (void)SendFrame(*transport_, MsgType::kPing, 0, nullptr, 0);
        continue;
      }
      item = ring_[ring_head_];
      ring_head_ = (ring_head_ + 1) % ring_.size();
      --ring_size_;
    }
    cv_.notify_all();  // room in the ring
    if (item.kind == SendItem::kLayer) {
      if (request_status.ok()) request_status = SendLayer(item);
      if (!request_status.ok()) send_failed_.store(true);
      continue;
    }
    // The end of a request: tell the decode side how it went.
    if (request_status.ok()) {
      request_status = item.kind == SendItem::kDone
                           ? SendFrame(*transport_, MsgType::kDone, cur_id_, nullptr, 0)
                           : SendFail(*transport_, cur_id_, fail_reason_);
    } else {
      (void)SendFail(*transport_, cur_id_, request_status.message());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      send_status_ = std::move(request_status);
      request_done_ = true;
    }
    request_status = Status::Ok();
    cv_.notify_all();
  }
}

StatusOr<AllocMessage> PrefillWorker::WaitForAlloc(RequestId id) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool got = cv_.wait_for(lock, std::chrono::milliseconds(config_.alloc_timeout_ms), [&] {
    return allocs_.count(id) != 0 || peer_fails_.count(id) != 0 || !conn_status_.ok() || stop_;
  });
  if (auto it = allocs_.find(id); it != allocs_.end()) {
    AllocMessage a = std::move(it->second);
    allocs_.erase(it);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), id));
    return a;
  }
  if (auto it = peer_fails_.find(id); it != peer_fails_.end()) {
    Status s =
        UnavailableError("decode engine failed request " + std::to_string(id) + ": " + it->second);
    peer_fails_.erase(it);
    return s;
  }
  if (!conn_status_.ok()) return conn_status_;
  if (!got) {
    return UnavailableError("decode engine did not reserve request " + std::to_string(id) +
                            " within " + std::to_string(config_.alloc_timeout_ms) + " ms");
  }
  return CancelledError("prefill worker is closing");
}

Status PrefillWorker::FinishRequest(Status why) {
  const bool ok = why.ok();
  if (!ok) fail_reason_ = why.message();
  send_first_ = send_end_ = 0;
  Push(SendItem{ok ? SendItem::kDone : SendItem::kFail, 0, 0, 0});
  Status sent;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return request_done_ || stop_; });
    sent = request_done_ ? std::move(send_status_) : CancelledError("prefill worker is closing");
    request_done_ = false;
    send_status_ = Status::Ok();
  }
  // The sender no longer reads the blocks: they go back (tail first).
  kv_.Free(cur_id_);
  send_failed_.store(false);
  Status result = !ok ? std::move(why) : std::move(sent);
  std::lock_guard<std::mutex> lock(mu_);
  (result.ok() ? stats_.requests_ok : stats_.requests_failed)++;
  return result;
}

Status PrefillWorker::Prefill(RequestId id, std::span<const TokenId> prompt,
                              const std::string& salt) {
  if (prompt.empty()) return InvalidArgumentError("the prompt is empty");
  StatusOr<AllocMessage> reserved = WaitForAlloc(id);
  cur_id_ = id;
  // Tell the decode side (if it is still there), so that a reservation
  // that comes late is not left waiting.
  if (!reserved.ok()) return FinishRequest(reserved.status());
  const AllocPayload alloc = reserved->head;
  {
    const auto arrived = Clock::time_point(Clock::duration(reserved->received_ns));
    std::lock_guard<std::mutex> lock(mu_);
    stats_.queue_s += Seconds(Clock::now() - arrived);
  }
  const int bs = layout_.block_size;
  const int m = static_cast<int>(prompt.size()) - 1;  // tokens whose KV goes across
  const int n_blocks = (m + bs - 1) / bs;
  if (alloc.n_import_tokens != m || alloc.n_blocks != n_blocks || alloc.n_skip_blocks < 0 ||
      alloc.n_skip_blocks > n_blocks || alloc.prompt_hash != PromptHash(prompt)) {
    return FinishRequest(FailedPreconditionError(
        "request " + std::to_string(id) + ": the decode engine's prompt differs from this one"));
  }
  if (m > runner_->max_context()) {
    return FinishRequest(InvalidArgumentError("prompt longer than the context"));
  }
  for (TokenId t : prompt) {
    if (t < 0 || t >= runner_->vocab_size()) {
      return FinishRequest(InvalidArgumentError("prompt token outside the vocabulary"));
    }
  }
  const std::span<const TokenId> part = prompt.first(m);
  const int cached = m > 0 ? kv_.LookupPrefix(id, part, salt) : 0;
  if (!kv_.AllocateSlots(id, m)) {
    return FinishRequest(ResourceExhaustedError("prefill engine has no room for " +
                                                std::to_string(n_blocks) + " KV blocks"));
  }
  compute_end_ns_.store(0);
  const std::span<const BlockId> table = kv_.BlockTable(id);
  cur_table_.assign(table.begin(), table.end());
  int sent_upto = alloc.n_skip_blocks;
  // Blocks this engine's prefix cache supplied but the decode side lacks.
  if (cached / bs > sent_upto) {
    for (int l = 0; l < layout_.n_layers; ++l) {
      Push(SendItem{SendItem::kLayer, l, sent_upto, cached / bs});
    }
    sent_upto = cached / bs;
  }
  Status status;
  double compute_s = 0;
  for (int start = cached; start < m && status.ok();) {
    if (send_failed_.load()) break;  // the sender's error is the request's
    const int n = std::min(config_.max_chunk_tokens, m - start);
    const int end = start + n;
    const int complete = end == m ? n_blocks : end / bs;
    send_first_ = sent_upto;
    send_end_ = std::max(complete, sent_upto);
    batch_.Clear();
    batch_.AddSequence(part.subspan(start, n), start, cur_table_, /*want_logits=*/false);
    const auto t0 = Clock::now();
    StatusOr<const float*> run = runner_->Run(batch_);
    compute_s += Seconds(Clock::now() - t0);
    send_first_ = send_end_ = 0;
    if (!run.ok()) {
      status = run.status();
      break;
    }
    kv_.CommitTokens(id, part, end, salt);
    sent_upto = std::max(complete, sent_upto);
    start = end;
  }
  const auto compute_end = Clock::now();
  compute_end_ns_.store(compute_end.time_since_epoch().count());
  Status result = FinishRequest(std::move(status));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.compute_s += compute_s;
  if (result.ok()) {
    stats_.tail_s += Seconds(Clock::now() - compute_end);
    stats_.blocks += n_blocks - alloc.n_skip_blocks;
  }
  return result;
}

}  // namespace kvs
