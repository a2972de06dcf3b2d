#include "disagg/decode_worker.h"

#include <algorithm>
#include <utility>

#include "disagg/model_fingerprint.h"

namespace kvs {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

StatusOr<std::unique_ptr<DecodeWorker>> DecodeWorker::Create(Engine* engine, KvStorage* storage,
                                                             const ModelConfig& config,
                                                             const Fingerprint& model,
                                                             std::unique_ptr<Transport> transport,
                                                             const DecodeWorkerConfig& dc) {
  if (engine == nullptr || storage == nullptr || transport == nullptr) {
    return InvalidArgumentError("decode worker needs an engine, its KV storage and a transport");
  }
  const KvLayout layout = MakeKvLayout(model, config, *storage);
  if (dc.frame_stall_ms < 1 || dc.peer_silence_ms < 1) {
    return InvalidArgumentError("frame_stall_ms and peer_silence_ms must be >= 1");
  }
  KVS_ASSIGN_OR_RETURN(std::string peer, Handshake(*transport, layout, dc.name, "decode"));
  return std::unique_ptr<DecodeWorker>(
      new DecodeWorker(engine, storage, std::move(transport), layout, dc, std::move(peer)));
}

DecodeWorker::DecodeWorker(Engine* engine, KvStorage* storage, std::unique_ptr<Transport> transport,
                           const KvLayout& layout, const DecodeWorkerConfig& config,
                           std::string peer_name)
    : engine_(engine),
      storage_(storage),
      transport_(std::move(transport)),
      layout_(layout),
      config_(config),
      peer_name_(std::move(peer_name)) {
  scratch_.resize(static_cast<size_t>(layout_.block_bytes));
  reader_ = std::thread([this] { ReaderLoop(); });
}

DecodeWorker::~DecodeWorker() {
  transport_->Close();
  reader_.join();
  // Whatever is still reserved goes back to the pool.
  for (auto& [id, imp] : imports_)
    engine_->CancelImport(id, CancelledError("decode worker closed"));
  for (Waiting& w : waiting_) EndStream(*w.stream, FinishReason::kAbort, Status::Ok());
}

TransferStats DecodeWorker::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool DecodeWorker::link_ok() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_status_.ok();
}

void DecodeWorker::EndStream(OutputStream& stream, FinishReason reason, Status error) {
  StreamDelta d;
  d.finished = true;
  d.finish_reason = reason;
  d.error = std::move(error);
  stream.Push(std::move(d));
}

Status DecodeWorker::Submit(RequestId id, GenerationRequest request,
                            std::shared_ptr<OutputStream> stream) {
  KVS_RETURN_IF_ERROR(engine_->Validate(request));
  if (request.n != 1 || request.embedding != Pooling::kNone || request.prompt_logprobs >= 0) {
    return InvalidArgumentError(
        "a disaggregated request has one choice, no embedding and no prompt logprobs");
  }
  for (const Waiting& w : waiting_) {
    if (w.id == id) return InvalidArgumentError("duplicate request id " + std::to_string(id));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (imports_.count(id) != 0)
      return InvalidArgumentError("duplicate request id " + std::to_string(id));
    if (!conn_status_.ok()) return conn_status_;
  }
  waiting_.push_back({id, std::move(request), std::move(stream), Clock::now()});
  return Status::Ok();
}

void DecodeWorker::Abort(RequestId id) {
  if (!AbortIfPending(id)) engine_->Abort(id);
}

bool DecodeWorker::AbortIfPending(RequestId id) {
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->id == id) {
      EndStream(*it->stream, FinishReason::kAbort, Status::Ok());
      waiting_.erase(it);
      return true;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = imports_.find(id); it != imports_.end()) {
    it->second.cancel = true;  // Poll cancels it once the reader is not writing
    return true;
  }
  return false;
}

void DecodeWorker::Poll() {
  Status conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn = conn_status_;
  }
  // Requests the prefill engine gave up on before they were reserved.
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end() && !early_fails_.empty();) {
      auto f = early_fails_.find(it->id);
      if (f == early_fails_.end()) {
        ++it;
        continue;
      }
      EndStream(*it->stream, FinishReason::kError,
                UnavailableError("prefill engine failed the request: " + f->second));
      early_fails_.erase(f);
      it = waiting_.erase(it);
    }
  }
  // Admit waiting requests, in order, while the engine has their blocks.
  while (!waiting_.empty()) {
    Waiting& w = waiting_.front();
    if (!conn.ok()) {
      EndStream(*w.stream, FinishReason::kError, conn);
      waiting_.pop_front();
      continue;
    }
    StatusOr<Engine::ImportPlan> plan = engine_->ReserveImport(w.id, w.request, w.stream);
    if (!plan.ok() && plan.status().code() == StatusCode::kResourceExhausted) break;
    Waiting taken = std::move(w);
    waiting_.pop_front();
    if (!plan.ok()) {
      EndStream(*taken.stream, FinishReason::kError, plan.status());
      continue;
    }
    const int bs = layout_.block_size;
    AllocPayload a;
    a.n_import_tokens = plan->n_import_tokens;
    a.n_blocks = static_cast<int32_t>(plan->blocks.size());
    a.n_skip_blocks = plan->n_cached_tokens / bs;
    a.prompt_hash = PromptHash(taken.request.prompt);
    {
      std::lock_guard<std::mutex> lock(mu_);
      Import& imp = imports_[taken.id];
      imp.blocks = std::move(plan->blocks);
      imp.n_skip = a.n_skip_blocks;
      imp.expected = int64_t{a.n_blocks - a.n_skip_blocks} * layout_.n_layers;
      imp.reserved_at = Clock::now();
      imp.submitted_at = taken.submitted;
      imp.stream = taken.stream;
      stats_.queue_s += std::chrono::duration<double>(imp.reserved_at - taken.submitted).count();
      ++n_imports_;
    }
    // The engine thread is this side's only writer on the transport.
    Status sent =
        SendAlloc(*transport_, taken.id, a, taken.request.prompt, taken.request.cache_salt);
    if (!sent.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      imports_[taken.id].error =
          UnavailableError("cannot reach the prefill engine: " + sent.message());
    }
  }
  // Commit what landed; cancel what failed.
  struct Outcome {
    RequestId id;
    bool landed;
    bool aborted;
    Status error;
  };
  Outcome done[16];
  while (true) {
    int n_done = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = imports_.begin(); it != imports_.end() && n_done < 16;) {
        Import& imp = it->second;
        Status err = imp.error;
        const bool aborted = err.ok() && imp.cancel;
        if (aborted) err = CancelledError("aborted");
        if (err.ok() && !imp.landed && !conn_status_.ok()) err = conn_status_;
        if (imp.writing || (err.ok() && !imp.landed)) {
          ++it;
          continue;
        }
        if (err.ok()) {
          stats_.requests_ok++;
          stats_.blocks += int64_t(imp.blocks.size()) - imp.n_skip;
          ImportTiming t;
          t.queue_s = std::chrono::duration<double>(imp.reserved_at - imp.submitted_at).count();
          t.transfer_s = std::chrono::duration<double>(imp.landed_at - imp.reserved_at).count();
          t.landed = imp.landed_at;
          imp.stream->SetImportTiming(t);
          stats_.transfer_s += t.transfer_s;
        } else {
          stats_.requests_failed++;
        }
        done[n_done++] = {it->first, err.ok(), aborted, std::move(err)};
        it = imports_.erase(it);
        --n_imports_;
      }
    }
    for (int i = 0; i < n_done; ++i) {
      if (done[i].landed) {
        engine_->CommitImport(done[i].id);
      } else if (done[i].aborted) {
        engine_->Abort(done[i].id);  // ends the stream with kAbort, frees the blocks
      } else {
        engine_->CancelImport(done[i].id, std::move(done[i].error));
      }
    }
    if (n_done < 16) break;
  }
}

Status DecodeWorker::Discard(uint64_t n) {
  while (n > 0) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, scratch_.size()));
    KVS_RETURN_IF_ERROR(transport_->ReceiveWithin(scratch_.data(), k, config_.frame_stall_ms));
    n -= k;
  }
  return Status::Ok();
}

Status DecodeWorker::ReceiveLayer(const FrameHeader& h) {
  LayerPayload lp;
  KVS_RETURN_IF_ERROR(transport_->ReceiveWithin(&lp, sizeof(lp), config_.frame_stall_ms));
  const int64_t bb = layout_.block_bytes;
  if (lp.n_blocks < 1 || lp.n_blocks > kMaxBlocksPerFrame || lp.layer < 0 ||
      lp.layer >= layout_.n_layers ||
      h.payload_bytes != sizeof(LayerPayload) + 2 * int64_t{lp.n_blocks} * bb) {
    return DataLossError("prefill engine sent a malformed layer frame");
  }
  BlockId dst[kMaxBlocksPerFrame];
  dst[0] = -1;  // no import takes the frame: keep the stream in step, drop the bytes
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = imports_.find(h.request_id);
    Import* imp = it == imports_.end() ? nullptr : &it->second;
    if (imp != nullptr && imp->error.ok() && !imp->cancel && !imp->landed) {
      if (lp.first_block < imp->n_skip ||
          int64_t{lp.first_block} + lp.n_blocks > int64_t(imp->blocks.size())) {
        imp->error =
            DataLossError("prefill engine sent blocks [" + std::to_string(lp.first_block) + ", +" +
                          std::to_string(lp.n_blocks) + ") outside the reservation");
        imp = nullptr;
      }
    } else {
      imp = nullptr;
    }
    if (imp != nullptr) {  // else unknown, cancelled or failed
      imp->writing = true;
      for (int i = 0; i < lp.n_blocks; ++i) dst[i] = imp->blocks[lp.first_block + i];
    }
  }
  if (dst[0] < 0) return Discard(2 * uint64_t(lp.n_blocks) * uint64_t(bb));
  Status s;
  for (int kv = 0; kv < 2 && s.ok(); ++kv) {
    for (int i = 0; i < lp.n_blocks && s.ok(); ++i) {
      s = transport_->ReceiveWithin(storage_->block_data(lp.layer, kv == 1, dst[i]), size_t(bb),
                                    config_.frame_stall_ms);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Import& imp = imports_.at(h.request_id);  // not erased while writing
  imp.writing = false;
  if (s.ok()) {
    imp.received += lp.n_blocks;
    stats_.bytes += 2 * int64_t{lp.n_blocks} * bb;
    stats_.block_layers += lp.n_blocks;
    stats_.frames++;
  }
  return s;
}

void DecodeWorker::ReaderLoop() {
  Status s;
  while (s.ok()) {
    FrameHeader h;
    bool importing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      importing = !imports_.empty();
    }
    const auto read_start = Clock::now();
    s = ReadFrameHeader(*transport_, layout_.block_bytes, &h,
                        importing ? config_.peer_silence_ms : -1);
    if (!s.ok()) {
      // A timeout (the transports' poll may return a little early), not a reset.
      if (importing && Clock::now() - read_start >=
                           std::chrono::milliseconds(config_.peer_silence_ms * 9 / 10)) {
        s = UnavailableError("prefill engine silent for " + std::to_string(config_.peer_silence_ms) +
                             " ms with imports waiting (" + s.message() + ")");
      }
      break;
    }
    switch (static_cast<MsgType>(h.type)) {
      case MsgType::kPing:
        break;
      case MsgType::kLayer:
        s = ReceiveLayer(h);
        break;
      case MsgType::kDone: {
        std::unique_lock<std::mutex> lock(mu_);
        if (auto it = imports_.find(h.request_id); it != imports_.end()) {
          Import& imp = it->second;
          if (imp.received == imp.expected) {
            imp.landed = true;
            imp.landed_at = Clock::now();
          } else if (imp.error.ok()) {
            imp.error =
                DataLossError("transfer ended with " + std::to_string(imp.received) + " of " +
                              std::to_string(imp.expected) + " (block, layer) pairs");
          }
        }
        lock.unlock();
        Notify();  // outside mu_: it takes the engine loop's lock
        break;
      }
      case MsgType::kFail: {
        std::string reason(h.payload_bytes, '\0');
        s = transport_->ReceiveWithin(reason.data(), reason.size(), config_.frame_stall_ms);
        if (!s.ok()) break;
        std::unique_lock<std::mutex> lock(mu_);
        if (auto it = imports_.find(h.request_id); it != imports_.end()) {
          if (it->second.error.ok()) {
            it->second.error = UnavailableError("prefill engine failed the request: " + reason);
          }
        } else if (early_fails_.size() < kMaxEarlyFails) {
          // Not reserved yet (still waiting for blocks): Poll ends it.
          early_fails_[h.request_id] = std::move(reason);
        }
        lock.unlock();
        Notify();
        break;
      }
      default:
        s = DataLossError("prefill engine sent an unexpected frame type " + std::to_string(h.type));
    }
  }
  // The stream is out of step or gone: end it for both sides.
  transport_->Close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn_status_ = UnavailableError("link to the prefill engine lost: " + s.message());
  }
  Notify();
}

}  // namespace kvs
