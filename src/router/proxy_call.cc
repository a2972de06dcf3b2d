#include "router/proxy_call.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "server/api_error.h"
#include "server/generation_route.h"
#include "server/sse.h"

namespace kvs::router {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Whether an SSE event (one "data: ..." block) carries output, an error or
// the end, rather than the role preamble; *error when it is an error.
bool HasOutput(std::string_view event, bool* error) {
  *error = false;
  const size_t at = event.find("data: ");
  if (at == std::string_view::npos) return false;  // a comment (heartbeat)
  std::string_view payload = event.substr(at + 6);
  while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\r')) {
    payload.remove_suffix(1);
  }
  if (payload == "[DONE]") return true;
  const Json j = Json::parse(payload, nullptr, false);
  if (!j.is_object()) return true;
  if (j.contains("error")) {
    *error = true;
    return true;
  }
  for (const Json& c : j.value("choices", Json::array())) {
    if (!c.is_object()) continue;
    if (c.contains("finish_reason") && !c["finish_reason"].is_null()) return true;
    if (c.contains("text") && c["text"].is_string() && !c["text"].get<std::string>().empty()) {
      return true;
    }
    const Json delta = c.value("delta", Json::object());
    if (delta.is_object()) {
      if (delta.contains("content") && delta["content"].is_string() &&
          !delta["content"].get<std::string>().empty()) {
        return true;
      }
      if (delta.contains("tool_calls") || delta.contains("reasoning_content")) return true;
    }
  }
  return j.contains("usage") && !j["usage"].is_null();
}

std::string ErrorEvent(int status, const std::string& message) {
  server::ApiError e;
  e.http_status = status;
  e.message = message;
  e.type = "server_error";
  return server::SseData(e.ToJson().dump()) + server::SseDone();
}

}  // namespace

class ProxyCall::Body final : public server::DeferredBody {
 public:
  explicit Body(std::shared_ptr<ProxyCall> call) : call_(std::move(call)) {}
  void SetWaker(std::shared_ptr<StreamListener> waker) override {
    std::lock_guard<std::mutex> lock(call_->mu_);
    call_->waker_ = std::move(waker);
  }
  bool Poll(std::string* out, int* status, std::string* content_type) override {
    std::lock_guard<std::mutex> lock(call_->mu_);
    out->append(call_->out_);
    call_->out_.clear();
    *status = call_->status_;
    *content_type = call_->content_type_;
    return call_->done_;
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(call_->mu_);
    call_->cancelled_ = true;
    call_->waker_.reset();
    // The upstream connection closes: the decode worker aborts the request.
    if (call_->client_ != nullptr) static_cast<httplib::Client*>(call_->client_)->stop();
  }
  std::string Heartbeat() override { return call_->req_.stream ? server::SseComment("keep-alive") : ""; }

 private:
  std::shared_ptr<ProxyCall> call_;
};

ProxyCall::ProxyCall(ProxyRequest request, WorkerPool* pool, RouterStats* stats,
                     std::unique_ptr<server::ConcurrencyLimiter::Slot> slot)
    : req_(std::move(request)), pool_(pool), stats_(stats), slot_(std::move(slot)) {
  if (req_.stream) content_type_ = "text/event-stream";
}

std::shared_ptr<server::DeferredBody> ProxyCall::MakeBody() {
  return std::make_shared<Body>(shared_from_this());
}

void ProxyCall::Start() {
  std::thread([self = shared_from_this()] { self->Run(); }).detach();
}

void ProxyCall::Emit(std::string bytes, bool done) {
  std::shared_ptr<StreamListener> waker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out_ += bytes;
    done_ = done_ || done;
    waker = waker_;
  }
  if (waker) waker->OnPush();
}

void ProxyCall::Fail(int status, const std::string& message) {
  if (!req_.utility) stats_->requests_failed++;
  if (req_.stream && released_) return Emit(ErrorEvent(status, message), true);
  server::ApiError e;
  e.http_status = status;
  e.message = message;
  e.type = status == 503 ? "service_unavailable" : "server_error";
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    content_type_ = "application/json";
  }
  Emit(e.ToJson().dump(), true);
}

bool ProxyCall::OnStreamBytes(const char* data, size_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return false;
  }
  const std::string_view bytes(data, n);
  // The last bytes are kept with each read, so that a [DONE] split between
  // two reads is still seen.
  done_tail_ += bytes;
  if (done_tail_.find("data: [DONE]") != std::string::npos) saw_done_ = true;
  if (done_tail_.size() > 16) done_tail_.erase(0, done_tail_.size() - 16);
  if (released_) {
    Emit(std::string(bytes), false);
    return true;
  }
  held_ += bytes;
  // Whole events up to the first with output, an error or the end; the
  // preamble before it is held.
  for (size_t start = 0, end; (end = held_.find("\n\n", start)) != std::string::npos;
       start = end + 2) {
    bool error = false;
    if (!HasOutput(std::string_view(held_).substr(start, end + 2 - start), &error)) continue;
    if (error && up_mode_ == "imported") {
      first_is_error_ = true;
      return false;  // retried colocated; nothing reached the client
    }
    released_ = true;
    stats_->RecordFirstByte(std::chrono::duration<double>(Clock::now() - arrival_).count());
    Emit(std::move(held_), false);
    held_.clear();
    break;
  }
  return true;
}

ProxyCall::Outcome ProxyCall::Attempt(const WorkerPool::Target& t) {
  // Every attempt starts clean: a retry comes only before any output.
  up_status_ = 0;
  up_type_.clear();
  up_mode_.clear();
  up_body_.clear();
  held_.clear();
  done_tail_.clear();
  released_ = false;
  first_is_error_ = false;
  saw_done_ = false;
  httplib::Client cli(t.decode_at.host, t.decode_at.port);
  cli.set_connection_timeout(std::chrono::seconds(2));
  cli.set_read_timeout(std::chrono::seconds(600));  // SSE heartbeats come every few seconds
  cli.set_write_timeout(std::chrono::seconds(30));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return Outcome::kFinal;
    client_ = &cli;
  }
  httplib::Request r;
  r.method = "POST";
  r.path = req_.path;
  r.body = req_.body;
  r.set_header("Content-Type", "application/json");
  if (!req_.authorization.empty()) r.set_header("Authorization", req_.authorization);
  if (t.prefill >= 0) r.set_header(std::string(server::kPrefillWorkerHeader), t.prefill_name);
  r.response_handler = [&](const httplib::Response& res) {
    up_status_ = res.status;
    up_type_ = res.get_header_value("Content-Type");
    up_mode_ = res.get_header_value(std::string(server::kDisaggModeHeader));
    return true;
  };
  r.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (req_.stream && up_status_ == 200) return OnStreamBytes(data, n);
    if (up_body_.size() < (64u << 20)) up_body_.append(data, n);
    std::lock_guard<std::mutex> lock(mu_);
    return !cancelled_;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = cli.send(r, res, err);
  {
    std::lock_guard<std::mutex> lock(mu_);
    client_ = nullptr;
    if (cancelled_) return Outcome::kFinal;
  }
  // No answer at all: nothing reached the client either.
  if (up_status_ == 0) return Outcome::kUnreachable;
  const bool imported = up_mode_ == "imported";
  if (req_.stream && up_status_ == 200) {
    if (first_is_error_) return Outcome::kRetryColocated;
    // Lost before its first output: the client has nothing yet (the role
    // preamble is held), so another decode worker can take it whole.
    if (!released_) return Outcome::kUnreachable;
    if (!sent || !saw_done_) {
      Fail(502, "the decode worker was lost mid-stream (" +
                    (sent ? std::string("no [DONE]") : httplib::to_string(err)) + ")");
      return Outcome::kFinal;
    }
    (imported ? stats_->disaggregated : stats_->colocated)++;
    stats_->requests_ok++;
    Emit("", true);
    return Outcome::kFinal;
  }
  if (!sent) {
    Fail(502, "the decode worker was lost before it answered (" + httplib::to_string(err) + ")");
    return Outcome::kFinal;
  }
  if (up_status_ >= 500 && imported) return Outcome::kRetryColocated;
  if (up_status_ == 429) {
    // That worker is full: another may not be. Kept in case none is.
    busy_status_ = up_status_;
    busy_type_ = up_type_;
    busy_body_ = std::move(up_body_);
    return Outcome::kBusy;
  }
  if (!req_.utility) {
    (imported ? stats_->disaggregated : stats_->colocated)++;
    (up_status_ < 400 ? stats_->requests_ok : stats_->requests_failed)++;
  }
  if (up_status_ < 400 && !req_.utility) {
    stats_->RecordFirstByte(std::chrono::duration<double>(Clock::now() - arrival_).count());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = up_status_;
    content_type_ = up_type_.empty() ? "application/json" : up_type_;
  }
  Emit(std::move(up_body_), true);
  return Outcome::kFinal;
}

void ProxyCall::Run() {
  std::vector<int> exclude_decode, exclude_prefill;
  bool colocated = req_.utility;
  // Each decode worker at most once, and one colocated retry.
  const int max_attempts = pool_->n_decode() + 1;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    std::optional<WorkerPool::Target> t =
        pool_->Acquire(req_.prefix_key, exclude_decode, exclude_prefill, colocated);
    if (!t) break;
    const Outcome outcome = Attempt(*t);
    pool_->Release(*t);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) {
        if (!req_.utility) stats_->requests_cancelled++;
        return;
      }
    }
    if (outcome == Outcome::kFinal) return;
    if (outcome == Outcome::kUnreachable) {
      pool_->MarkDecodeDown(t->decode);
      exclude_decode.push_back(t->decode);
      stats_->retries_unreachable++;
    } else if (outcome == Outcome::kBusy) {
      exclude_decode.push_back(t->decode);
      stats_->retries_busy++;
    } else {  // kRetryColocated
      if (colocated) break;
      colocated = true;
      if (t->prefill >= 0) exclude_prefill.push_back(t->prefill);
      stats_->retries_colocated++;
    }
  }
  if (busy_status_ != 0) {
    // Every worker tried was full: the client gets the last one's 429.
    if (!req_.utility) stats_->requests_failed++;
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = busy_status_;
      content_type_ = busy_type_.empty() ? "application/json" : busy_type_;
    }
    Emit(std::move(busy_body_), true);
    return;
  }
  Fail(503, "no decode worker could take the request");
}

}  // namespace kvs::router
