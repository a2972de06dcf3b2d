// KvEventPublisher: sends the engine's KV events over ZeroMQ the way vLLM's
// ZmqEventPublisher does, so that routers built for vLLM (NVIDIA Dynamo's
// KV router, llm-d's KV-cache indexer) can track which blocks this server
// holds.
//
// Wire format (vLLM's): every batch is a 3-frame PUB message
//   [topic, 8-byte big-endian sequence number, msgpack payload]
// (kv_event_encoder.h has the payload), sequence numbers counting from 0.
// With a replay endpoint, a ROUTER socket answers a request
//   [identity, "", 8-byte big-endian start sequence number]
// with every buffered batch from that number on, each as
//   [identity, "", sequence number, payload],
// then [identity, "", 8 bytes of 0xff (-1), ""]: a subscriber that sees a
// gap in the sequence numbers asks for the batches it missed.
//
// Both sockets bind (vLLM binds when the address has a wildcard, as its
// default tcp://*:5557 does, and connects otherwise; a pod binds).
//
// Threads: Exchange is called by the engine thread and only queues (the
// payload is encoded, sent and buffered by the publisher's own thread, so a
// step never waits on the network); past max_queue queued batches a batch
// is dropped and counted rather than blocking the engine. Logs are recycled
// between the two threads: no allocation per step once warm. The publisher
// owns its thread and joins it in Shutdown / the destructor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "events/kv_event_encoder.h"
#include "kv/kv_events.h"

namespace kvs::events {

struct KvEventPublisherConfig {
  std::string endpoint;         // PUB address to bind, e.g. tcp://*:5557
  std::string replay_endpoint;  // ROUTER address to bind; "": no replay
  std::string topic;            // the first frame ("" as in vLLM)
  int buffer_steps = 10000;     // batches kept for replay (vLLM's default)
  int hwm = 100000;             // PUB send high-water mark (vLLM's default)
  int max_queue = 10000;        // batches waiting for the thread at most
  KvEventEncoding encoding;
};

class KvEventPublisher final : public KvEventSink {
 public:
  // Binds the sockets and starts the thread. Errors: a bad or busy address.
  static StatusOr<std::unique_ptr<KvEventPublisher>> Create(const KvEventPublisherConfig& config);
  ~KvEventPublisher() override;

  std::unique_ptr<KvEventLog> Exchange(std::unique_ptr<KvEventLog> full) override;

  // Sends what is queued, stops the thread and closes the sockets. Idempotent.
  void Shutdown();

  // The addresses actually bound (a "*" port resolved), for tests and logs.
  const std::string& endpoint() const { return bound_endpoint_; }
  const std::string& replay_endpoint() const { return bound_replay_endpoint_; }

  struct Counters {
    int64_t published = 0;  // batches sent (the next sequence number)
    int64_t dropped = 0;    // batches dropped because the queue was full
    int64_t replays = 0;    // replay requests served
  };
  Counters counters() const;

 private:
  explicit KvEventPublisher(const KvEventPublisherConfig& config);
  void Run();
  void Publish(KvEventLog& log);
  void ServiceReplay();

  const KvEventPublisherConfig config_;
  void* ctx_ = nullptr;     // owned (zmq context)
  void* pub_ = nullptr;     // owned
  void* replay_ = nullptr;  // owned, may be null
  std::string bound_endpoint_;
  std::string bound_replay_endpoint_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<KvEventLog>> queue_;  // guarded by mu_
  std::vector<std::unique_ptr<KvEventLog>> free_;   // guarded by mu_: recycled logs
  bool stopping_ = false;                           // guarded by mu_
  Counters counters_;                               // guarded by mu_

  // Publisher thread only.
  uint64_t next_seq_ = 0;
  std::deque<std::pair<uint64_t, std::string>> ring_;  // (seq, payload), oldest first
  std::string scratch_;

  std::mutex shutdown_mu_;
  std::thread thread_;
};

}  // namespace kvs::events
