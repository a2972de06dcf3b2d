#include "events/kv_event_publisher.h"

#include <zmq.h>

#include <chrono>
#include <cstring>

namespace kvs::events {
namespace {

void PutU64Be(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (7 - i)));
}

Status ZmqError(const std::string& what) {
  return InvalidArgumentError("kv events: " + what + ": " + zmq_strerror(zmq_errno()));
}

// Binds sock to address and returns the address bound (port resolved).
StatusOr<std::string> Bind(void* sock, const std::string& address) {
  if (zmq_bind(sock, address.c_str()) != 0) return ZmqError("cannot bind " + address);
  char buf[256];
  size_t len = sizeof(buf);
  if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, buf, &len) != 0) return ZmqError("last endpoint");
  return std::string(buf);
}

// Sends frames as one multipart message; false if the socket refused.
bool SendFrames(void* sock, std::initializer_list<std::pair<const void*, size_t>> frames,
                int flags) {
  size_t i = 0;
  for (const auto& [data, size] : frames) {
    const int more = ++i < frames.size() ? ZMQ_SNDMORE : 0;
    if (zmq_send(sock, data, size, more | flags) < 0) return false;
  }
  return true;
}

}  // namespace

KvEventPublisher::KvEventPublisher(const KvEventPublisherConfig& config) : config_(config) {}

StatusOr<std::unique_ptr<KvEventPublisher>> KvEventPublisher::Create(
    const KvEventPublisherConfig& config) {
  if (config.endpoint.empty()) return InvalidArgumentError("kv events: no endpoint");
  if (config.buffer_steps < 1 || config.max_queue < 1 || config.hwm < 0) {
    return InvalidArgumentError("kv events: buffer_steps and max_queue must be >= 1, hwm >= 0");
  }
  std::unique_ptr<KvEventPublisher> p(new KvEventPublisher(config));
  p->ctx_ = zmq_ctx_new();
  if (p->ctx_ == nullptr) return ZmqError("context");
  p->pub_ = zmq_socket(p->ctx_, ZMQ_PUB);
  if (p->pub_ == nullptr) return ZmqError("PUB socket");
  const int linger_ms = 1000;  // what is queued at shutdown gets a second to go out
  zmq_setsockopt(p->pub_, ZMQ_SNDHWM, &config.hwm, sizeof(config.hwm));
  zmq_setsockopt(p->pub_, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
  KVS_ASSIGN_OR_RETURN(p->bound_endpoint_, Bind(p->pub_, config.endpoint));
  if (!config.replay_endpoint.empty()) {
    p->replay_ = zmq_socket(p->ctx_, ZMQ_ROUTER);
    if (p->replay_ == nullptr) return ZmqError("ROUTER socket");
    const int zero = 0;
    zmq_setsockopt(p->replay_, ZMQ_LINGER, &zero, sizeof(zero));
    KVS_ASSIGN_OR_RETURN(p->bound_replay_endpoint_, Bind(p->replay_, config.replay_endpoint));
  }
  KvEventPublisher* raw = p.get();
  p->thread_ = std::thread([raw] { raw->Run(); });
  return p;
}

KvEventPublisher::~KvEventPublisher() {
  Shutdown();
  // Sockets are closed by Shutdown when the thread ran; here only after a
  // failed Create.
  if (replay_ != nullptr) zmq_close(replay_);
  if (pub_ != nullptr) zmq_close(pub_);
  if (ctx_ != nullptr) zmq_ctx_term(ctx_);
}

std::unique_ptr<KvEventLog> KvEventPublisher::Exchange(std::unique_ptr<KvEventLog> full) {
  std::unique_ptr<KvEventLog> empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(queue_.size()) >= config_.max_queue || stopping_) {
      ++counters_.dropped;
      full->Clear();
      return full;
    }
    queue_.push_back(std::move(full));
    if (!free_.empty()) {
      empty = std::move(free_.back());
      free_.pop_back();
    }
  }
  wake_.notify_one();
  // Only while warming up: afterwards the thread returns as many logs as it takes.
  if (empty == nullptr) empty = std::make_unique<KvEventLog>();
  return empty;
}

void KvEventPublisher::Publish(KvEventLog& log) {
  // Reuse the oldest payload's buffer once the ring is full.
  std::string payload;
  if (static_cast<int>(ring_.size()) >= config_.buffer_steps) {
    payload = std::move(ring_.front().second);
    ring_.pop_front();
  }
  EncodeKvEventBatch(log, config_.encoding, &payload);
  uint8_t seq[8];
  PutU64Be(seq, next_seq_);
  // A full PUB queue (no reader keeping up) drops the message in ZeroMQ,
  // as for any PUB socket; the replay buffer still has it.
  SendFrames(
      pub_,
      {{config_.topic.data(), config_.topic.size()}, {seq, 8}, {payload.data(), payload.size()}},
      ZMQ_DONTWAIT);
  ring_.emplace_back(next_seq_, std::move(payload));
  ++next_seq_;
}

void KvEventPublisher::ServiceReplay() {
  if (replay_ == nullptr) return;
  for (;;) {
    // One request: all its frames.
    std::vector<std::string> frames;
    for (;;) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, replay_, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        if (frames.empty()) return;  // nothing waiting
        break;
      }
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
      const bool more = zmq_msg_more(&msg) != 0;
      zmq_msg_close(&msg);
      if (!more) break;
    }
    // [identity, "", start] as vLLM expects; anything else is ignored.
    if (frames.size() != 3 || frames[2].size() != 8) continue;
    uint64_t start = 0;
    for (unsigned char c : frames[2]) start = (start << 8) | c;
    const std::string& id = frames[0];
    for (const auto& [seq, payload] : ring_) {
      if (seq < start) continue;
      uint8_t seq_bytes[8];
      PutU64Be(seq_bytes, seq);
      SendFrames(
          replay_,
          {{id.data(), id.size()}, {"", 0}, {seq_bytes, 8}, {payload.data(), payload.size()}}, 0);
    }
    uint8_t end[8];
    std::memset(end, 0xff, sizeof(end));
    SendFrames(replay_, {{id.data(), id.size()}, {"", 0}, {end, 8}, {"", 0}}, 0);
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.replays;
  }
}

void KvEventPublisher::Run() {
  std::vector<std::unique_ptr<KvEventLog>> batch;
  for (;;) {
    bool stop;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Wakes for a batch, or every few ms to answer replay requests.
      wake_.wait_for(lock, std::chrono::milliseconds(5),
                     [this] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      stop = stopping_;
    }
    for (auto& log : batch) Publish(*log);
    {
      std::lock_guard<std::mutex> lock(mu_);
      counters_.published += static_cast<int64_t>(batch.size());
      for (auto& log : batch) {
        log->Clear();
        free_.push_back(std::move(log));
      }
    }
    batch.clear();
    ServiceReplay();
    if (stop) break;
  }
  // Last batches (queued before stopping_) went out above.
  zmq_close(pub_);  // lingers up to linger_ms to deliver them
  pub_ = nullptr;
  if (replay_ != nullptr) zmq_close(replay_);
  replay_ = nullptr;
}

void KvEventPublisher::Shutdown() {
  std::lock_guard<std::mutex> serial(shutdown_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

KvEventPublisher::Counters KvEventPublisher::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace kvs::events
