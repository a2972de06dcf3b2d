#include "engine/output_stream.h"

#include <utility>

#include "base/check.h"

namespace kvs {
namespace {

// Appends `from` to `into`: tokens, text and samples concatenate; the flags,
// error and counts take the newest values.
void MergeDelta(StreamDelta& into, StreamDelta&& from) {
  into.tokens.insert(into.tokens.end(), from.tokens.begin(), from.tokens.end());
  into.text += from.text;
  for (auto& s : from.samples) into.samples.push_back(std::move(s));
  if (from.finished) {
    into.finished = true;
    into.finish_reason = from.finish_reason;
    into.error = std::move(from.error);
  }
  into.prompt_tokens = from.prompt_tokens;
  into.cached_tokens = from.cached_tokens;
  into.completion_tokens = from.completion_tokens;
}

}  // namespace

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
  }
  return "?";
}

RequestId OutputStream::id() const { return id_; }

void OutputStream::SetImportTiming(const ImportTiming& t) {
  std::lock_guard<std::mutex> lock(mu_);
  import_timing_ = t;
}

std::optional<ImportTiming> OutputStream::import_timing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return import_timing_;
}

void OutputStream::Push(StreamDelta delta) {
  std::shared_ptr<StreamListener> listener;  // copied (no allocation), told outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = listener_;
    KVS_CHECK(!pushed_finished_) << "request " << id_ << ": delta pushed after the last one";
    pushed_finished_ = delta.finished;
    if (has_pending_) {
      MergeDelta(pending_, std::move(delta));
    } else {
      pending_ = std::move(delta);
      has_pending_ = true;
    }
  }
  cv_.notify_all();
  if (listener) listener->OnPush();
}

void OutputStream::SetListener(std::shared_ptr<StreamListener> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

bool OutputStream::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pushed_finished_;
}

std::optional<StreamDelta> OutputStream::Next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (returned_finished_) return std::nullopt;
  if (!cv_.wait_for(lock, timeout, [this] { return has_pending_; })) return std::nullopt;
  StreamDelta out = std::move(pending_);
  pending_ = StreamDelta();
  has_pending_ = false;
  returned_finished_ = out.finished;
  return out;
}

StreamDelta OutputStream::WaitAll() {
  StreamDelta all;
  bool any = false;
  while (true) {
    std::optional<StreamDelta> d = Next(std::chrono::milliseconds(1000));
    if (!d.has_value()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (returned_finished_) break;  // finished was returned by an earlier Next
      continue;
    }
    const bool done = d->finished;
    if (any) {
      MergeDelta(all, std::move(*d));
    } else {
      all = std::move(*d);
      any = true;
    }
    if (done) break;
  }
  return all;
}

}  // namespace kvs
