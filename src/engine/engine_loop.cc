#include "engine/engine_loop.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "engine/engine.h"

namespace kvs {

// Everything below mu_ is the mailbox and the published stats; engine is
// touched only by the thread (Validate aside, which is thread-safe).
struct EngineLoop::Impl {
  struct Message {
    enum class Kind { kSubmit, kAbort, kImport } kind;
    RequestId id;
    GenerationRequest request;  // kSubmit, kImport
    std::vector<std::shared_ptr<OutputStream>> streams;  // kSubmit: one per choice
    std::string source;  // kImport: the prefill worker
  };

  std::unique_ptr<Engine> engine;
  EngineConfig config;
  std::atomic<RequestId> next_id{1};

  std::mutex mu;
  std::condition_variable wake;
  std::deque<Message> mailbox;  // guarded by mu
  bool stopping = false;        // guarded by mu
  bool woken = false;           // guarded by mu: Wake() since the last iteration
  EngineStats stats;            // guarded by mu: copy published after every step
  // Submits taken from the mailbox that `stats` does not count yet (it is
  // published after the step that admits them): without them Submit would
  // see a queue emptier than it is and let it grow past max_waiting.
  int64_t in_transit = 0;  // guarded by mu

  KvSnapshot snapshot;  // guarded by mu: swapped in by PublishSnapshot
  // Engine thread only: the buffer being filled and when it last was.
  KvSnapshot snapshot_scratch;
  std::chrono::steady_clock::time_point last_snapshot;
  int64_t n_snapshots = 0;

  // Engine thread only (after Create): where the engine's KV events go and
  // the log it is filling.
  KvEventSink* kv_events = nullptr;
  std::unique_ptr<KvEventLog> kv_log;
  ImportHub* imports = nullptr;  // engine thread only (after Create)

  std::mutex shutdown_mu;  // serializes Shutdown callers
  std::thread thread;

  void Run();
  // Queues a submit or import, within max_waiting; from any thread.
  Status Enqueue(Message m);
  void Wake() {
    {
      std::lock_guard<std::mutex> lock(mu);
      woken = true;
    }
    wake.notify_one();
  }
  // Fills snapshot_scratch when the interval has passed or the engine is
  // idle; returns whether it did (the caller swaps it in under mu).
  bool FillSnapshotIfDue();
  // Hands the filled event log, if any, to kv_events for an empty one.
  void FlushKvEvents();
};

void EngineLoop::Impl::FlushKvEvents() {
  if (kv_events == nullptr || kv_log->empty()) return;
  kv_log->timestamp =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  kv_log = kv_events->Exchange(std::move(kv_log));
  kv_log->Clear();
  engine->SetKvEventLog(kv_log.get());
}

bool EngineLoop::Impl::FillSnapshotIfDue() {
  const auto now = std::chrono::steady_clock::now();
  const auto interval = std::chrono::milliseconds(config.kv_snapshot_interval_ms);
  if (engine->HasWork() && n_snapshots > 0 && now - last_snapshot < interval) return false;
  engine->FillKvSnapshot(&snapshot_scratch);
  snapshot_scratch.sequence = n_snapshots++;
  last_snapshot = now;
  return true;
}

void EngineLoop::Impl::Run() {
  std::deque<Message> inbox;
  while (true) {
    // Asked before taking mu: the hub has locks of its own, and its threads
    // call Wake (which takes mu) while holding them.
    const bool imports_pending = imports != nullptr && imports->HasPending();
    {
      std::unique_lock<std::mutex> lock(mu);
      // Sleep while idle: nothing queued and nothing to compute. Imports in
      // flight wake the thread when they land (Wake); the timeout is a
      // backstop for requests waiting for blocks.
      auto ready = [this] { return stopping || woken || !mailbox.empty() || engine->HasWork(); };
      if (imports_pending) {
        wake.wait_for(lock, std::chrono::milliseconds(5), ready);
      } else {
        wake.wait(lock, ready);
      }
      woken = false;
      inbox.swap(mailbox);
      for (const Message& m : inbox) in_transit += m.kind != Message::Kind::kAbort;
      if (stopping) {
        lock.unlock();
        for (Message& m : inbox) {
          if (m.kind != Message::Kind::kAbort) {
            StreamDelta d;
            d.finished = true;
            d.finish_reason = FinishReason::kAbort;
            d.prompt_tokens = static_cast<int>(m.request.prompt.size());
            for (auto& s : m.streams) s->Push(d);
          }
        }
        if (imports != nullptr) imports->Detach();
        engine->AbortAll();
        FlushKvEvents();
        engine->SetKvEventLog(nullptr);
        const bool publish = FillSnapshotIfDue();
        std::lock_guard<std::mutex> relock(mu);
        stats = engine->Stats();
        if (publish) std::swap(snapshot, snapshot_scratch);
        return;
      }
    }
    // Messages are applied in order, so an abort right after its submit works.
    for (Message& m : inbox) {
      if (m.kind == Message::Kind::kSubmit) {
        engine->AddRequest(m.id, std::move(m.request), std::move(m.streams));
      } else if (m.kind == Message::Kind::kImport) {
        Status s = imports->Submit(m.source, m.id, std::move(m.request), m.streams[0]);
        if (!s.ok()) {
          StreamDelta d;
          d.finished = true;
          d.finish_reason = FinishReason::kError;
          d.error = std::move(s);
          m.streams[0]->Push(std::move(d));
        }
      } else if (imports == nullptr || !imports->AbortIfPending(m.id)) {
        engine->Abort(m.id);
      }
    }
    inbox.clear();
    if (imports != nullptr) imports->Poll();
    if (engine->HasWork()) {
      // A runner error has already ended the requests it hit with kError.
      (void)engine->Step();
    }
    FlushKvEvents();
    const bool publish = FillSnapshotIfDue();
    std::lock_guard<std::mutex> lock(mu);
    stats = engine->Stats();
    if (publish) std::swap(snapshot, snapshot_scratch);
    in_transit = 0;
  }
}

EngineLoop::EngineLoop(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<EngineLoop>> EngineLoop::Create(std::unique_ptr<ModelRunner> runner,
                                                         const Tokenizer* tokenizer,
                                                         const EngineConfig& config,
                                                         KvEventSink* kv_events,
                                                         ImportHub* imports) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                       Engine::Create(std::move(runner), tokenizer, config));
  auto impl = std::make_unique<Impl>();
  impl->engine = std::move(engine);
  impl->config = config;
  impl->stats = impl->engine->Stats();
  if (kv_events != nullptr) {
    // A subscriber that knew this server before a restart drops its blocks.
    impl->kv_events = kv_events;
    impl->kv_log = std::make_unique<KvEventLog>();
    impl->kv_log->AddAllCleared();
    impl->engine->SetKvEventLog(impl->kv_log.get());
    impl->FlushKvEvents();
  }
  impl->FillSnapshotIfDue();
  std::swap(impl->snapshot, impl->snapshot_scratch);
  Impl* raw = impl.get();
  if (imports != nullptr) {
    impl->imports = imports;
    imports->Attach(impl->engine.get(), [raw] { raw->Wake(); });
  }
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<EngineLoop>(new EngineLoop(std::move(impl)));
}

EngineLoop::~EngineLoop() { Shutdown(); }

StatusOr<std::shared_ptr<OutputStream>> EngineLoop::Submit(GenerationRequest request) {
  if (request.n != 1) return InvalidArgumentError("Submit takes one choice; SubmitChoices takes n");
  KVS_ASSIGN_OR_RETURN(std::vector<std::shared_ptr<OutputStream>> streams, SubmitChoices(std::move(request)));
  return streams[0];
}

Status EngineLoop::Impl::Enqueue(Message m) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return UnavailableError("the engine is shutting down");
    // May count a request the current step is starting: refuses early for
    // at most one step, never lets the queue past the limit.
    const int64_t queued =
        stats.requests_waiting + in_transit + static_cast<int64_t>(mailbox.size());
    if (queued >= config.max_waiting) {
      return ResourceExhaustedError("the waiting queue is full (" +
                                    std::to_string(config.max_waiting) + " requests)");
    }
    mailbox.push_back(std::move(m));
  }
  wake.notify_one();
  return Status::Ok();
}

StatusOr<std::vector<std::shared_ptr<OutputStream>>> EngineLoop::SubmitChoices(GenerationRequest request) {
  KVS_RETURN_IF_ERROR(impl_->engine->Validate(request));
  const RequestId id = impl_->next_id.fetch_add(request.n);
  std::vector<std::shared_ptr<OutputStream>> streams;
  for (int i = 0; i < request.n; ++i) streams.push_back(std::make_shared<OutputStream>(id + i));
  KVS_RETURN_IF_ERROR(
      impl_->Enqueue({Impl::Message::Kind::kSubmit, id, std::move(request), streams, {}}));
  return streams;
}

StatusOr<std::shared_ptr<OutputStream>> EngineLoop::SubmitImport(const std::string& source,
                                                                 GenerationRequest request) {
  if (impl_->imports == nullptr) {
    return FailedPreconditionError("this engine takes no KV from prefill workers");
  }
  if (request.n != 1) return InvalidArgumentError("an imported request has one choice");
  KVS_RETURN_IF_ERROR(impl_->engine->Validate(request));
  const RequestId id = impl_->next_id.fetch_add(1);
  auto stream = std::make_shared<OutputStream>(id);
  KVS_RETURN_IF_ERROR(
      impl_->Enqueue({Impl::Message::Kind::kImport, id, std::move(request), {stream}, source}));
  return stream;
}

bool EngineLoop::takes_imports() const { return impl_->imports != nullptr; }

void EngineLoop::Abort(RequestId id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->mailbox.push_back({Impl::Message::Kind::kAbort, id, {}, {}, {}});
  }
  impl_->wake.notify_one();
}

EngineStats EngineLoop::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

KvSnapshot EngineLoop::Snapshot() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->snapshot;
}

void EngineLoop::Shutdown() {
  std::lock_guard<std::mutex> serial(impl_->shutdown_mu);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kvs
