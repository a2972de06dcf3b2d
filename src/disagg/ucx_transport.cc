#include "disagg/ucx_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <ucp/api/ucp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace kvs {
namespace {

constexpr int kMaxIov = 256;

Status UcsError(const std::string& what, ucs_status_t s) {
  return IoError(what + ": " + ucs_status_string(s));
}

StatusOr<sockaddr_in> Resolve(const std::string& host, int port) {
  if (port < 0 || port > 65535)
    return InvalidArgumentError("port out of range: " + std::to_string(port));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const std::string h = host.empty() || host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, h.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgumentError("not an IPv4 address: " + host);
  }
  return addr;
}

// A UCP context and worker; destroyed after every endpoint on it.
class UcxWorker {
 public:
  static StatusOr<std::shared_ptr<UcxWorker>> Create() {
    std::shared_ptr<UcxWorker> w(new UcxWorker());
    ucp_params_t params{};
    params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
    params.features = UCP_FEATURE_STREAM | UCP_FEATURE_WAKEUP;
    params.mt_workers_shared = 1;
    ucs_status_t s = ucp_init(&params, nullptr, &w->context_);
    if (s != UCS_OK) return UcsError("ucp_init", s);
    ucp_worker_params_t wp{};
    wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wp.thread_mode = UCS_THREAD_MODE_MULTI;
    s = ucp_worker_create(w->context_, &wp, &w->worker_);
    if (s != UCS_OK) return UcsError("ucp_worker_create", s);
    s = ucp_worker_get_efd(w->worker_, &w->efd_);
    if (s != UCS_OK) return UcsError("ucp_worker_get_efd", s);
    UcxWorker* raw = w.get();
    w->progress_ = std::thread([raw] {
      while (!raw->stop_.load()) raw->ProgressOrWait();
    });
    return w;
  }
  ~UcxWorker() {
    stop_.store(true);
    if (progress_.joinable()) progress_.join();
    if (worker_ != nullptr) ucp_worker_destroy(worker_);
    if (context_ != nullptr) ucp_cleanup(context_);
  }
  ucp_worker_h worker() const { return worker_; }

  // Progresses the worker; when nothing happened, sleeps on its event fd
  // for at most 1 ms.
  void ProgressOrWait() {
    if (ucp_worker_progress(worker_) != 0) return;
    if (ucp_worker_arm(worker_) == UCS_ERR_BUSY) return;
    pollfd pfd{efd_, POLLIN, 0};
    ::poll(&pfd, 1, 1);
  }

 private:
  UcxWorker() = default;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int efd_ = -1;
  // Progresses the worker whenever no caller does (an idle engine must still
  // answer its peer's wireup and disconnect), sleeping on the event fd.
  std::atomic<bool> stop_{false};
  std::thread progress_;
};

class UcxTransport final : public Transport {
 public:
  static StatusOr<std::unique_ptr<UcxTransport>> Create(std::shared_ptr<UcxWorker> worker,
                                                        ucp_ep_params_t params) {
    std::unique_ptr<UcxTransport> t(new UcxTransport(std::move(worker)));
    params.field_mask |= UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    params.err_handler.cb = &UcxTransport::OnError;
    params.err_handler.arg = t.get();
    ucs_status_t s = ucp_ep_create(t->worker_->worker(), &params, &t->ep_);
    if (s != UCS_OK) return UcsError("ucp_ep_create", s);
    return t;
  }
  ~UcxTransport() override { Close(); }

  // Progresses until the endpoint is wired up to its peer (a flush completes
  // only then), or timeout_ms passes.
  Status WaitConnected(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    ucp_request_param_t p{};
    ucs_status_ptr_t req;
    {
      std::lock_guard<std::mutex> lock(ep_mu_);
      req = ucp_ep_flush_nbx(ep_, &p);
    }
    if (req == nullptr) return Status::Ok();
    if (UCS_PTR_IS_ERR(req)) return UcsError("UCX connect", UCS_PTR_STATUS(req));
    ucs_status_t s;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS) {
      if (std::chrono::steady_clock::now() >= deadline || error_.load() != UCS_OK) {
        ucp_request_cancel(worker_->worker(), req);
        while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS) worker_->ProgressOrWait();
        ucp_request_free(req);
        return UnavailableError("UCX connect: no peer answered");
      }
      worker_->ProgressOrWait();
    }
    ucp_request_free(req);
    if (s != UCS_OK || error_.load() != UCS_OK)
      return UcsError("UCX connect", s != UCS_OK ? s : error_.load());
    return Status::Ok();
  }

  Status Send(std::span<const ConstBuffer> parts) override {
    ucp_dt_iov_t iov[kMaxIov];
    size_t i = 0;
    while (i < parts.size()) {
      size_t n = 0;
      for (; i < parts.size() && n < kMaxIov; ++i) {
        if (parts[i].size == 0) continue;
        iov[n].buffer = const_cast<void*>(parts[i].data);
        iov[n].length = parts[i].size;
        ++n;
      }
      if (n == 0) break;
      ucp_request_param_t p{};
      p.op_attr_mask = UCP_OP_ATTR_FIELD_DATATYPE;
      p.datatype = ucp_dt_make_iov();
      ucs_status_ptr_t req;
      {
        std::lock_guard<std::mutex> lock(ep_mu_);
        if (ep_ == nullptr) return CancelledError("transport closed");
        req = ucp_stream_send_nbx(ep_, iov, n, &p);
      }
      KVS_RETURN_IF_ERROR(Wait(req, "UCX stream send"));
    }
    return Status::Ok();
  }

  Status ReceiveWithin(void* dst, size_t n, int timeout_ms) override {
    if (n == 0) return Status::Ok();
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_STREAM_RECV_FLAG_WAITALL;
    size_t length = 0;
    ucs_status_ptr_t req;
    {
      std::lock_guard<std::mutex> lock(ep_mu_);
      if (ep_ == nullptr) return CancelledError("transport closed");
      req = ucp_stream_recv_nbx(ep_, dst, n, &length, &p);
    }
    return Wait(req, "UCX stream receive", timeout_ms);
  }

  // A flushing close disconnects through the connection manager, so the
  // peer's endpoint fails at once. It may wait on the peer, so it is bounded;
  // then the endpoint is closed by force, which completes every pending
  // operation on it (UCS_ERR_CANCELED), receives included.
  void Close() override { CloseEp(/*force=*/false); }

  TransportKind kind() const override { return TransportKind::kUcx; }

 private:
  explicit UcxTransport(std::shared_ptr<UcxWorker> worker) : worker_(std::move(worker)) {}

  void CloseEp(bool force) {
    ucp_ep_h ep;
    {
      std::lock_guard<std::mutex> lock(ep_mu_);
      ep = ep_;
      ep_ = nullptr;
    }
    if (ep == nullptr) return;
    closed_.store(true);
    ucp_request_param_t p{};
    if (force || error_.load() != UCS_OK) {
      p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
      p.flags = UCP_EP_CLOSE_FLAG_FORCE;
    }
    ucs_status_ptr_t req = ucp_ep_close_nbx(ep, &p);
    if (!UCS_PTR_IS_PTR(req)) return;
    // A flush close whose peer does not answer stays pending until the
    // worker goes; the progress thread keeps serving it meanwhile.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (ucp_request_check_status(req) == UCS_INPROGRESS &&
           std::chrono::steady_clock::now() < deadline) {
      worker_->ProgressOrWait();
    }
    if (ucp_request_check_status(req) != UCS_INPROGRESS) ucp_request_free(req);
  }

  static void OnError(void* arg, ucp_ep_h, ucs_status_t status) {
    auto* t = static_cast<UcxTransport*>(arg);
    t->error_.store(status);
  }

  // Progresses until req completes; a close or a peer error cancels it.
  Status Wait(ucs_status_ptr_t req, const char* what, int timeout_ms = -1) {
    if (req == nullptr) return Status::Ok();
    if (UCS_PTR_IS_ERR(req)) return UcsError(what, UCS_PTR_STATUS(req));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool timed_out = false;
    ucs_status_t s;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS) {
      timed_out = timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline;
      if (closed_.load() || error_.load() != UCS_OK || timed_out) {
        // A stream operation cannot be cancelled alone: closing the
        // endpoint by force completes it (a flush close may still be
        // pending, so force it in any case).
        if (timed_out || error_.load() != UCS_OK) CloseEp(/*force=*/true);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS &&
               std::chrono::steady_clock::now() < give_up) {
          worker_->ProgressOrWait();
        }
        break;
      }
      worker_->ProgressOrWait();
    }
    ucp_request_free(req);
    if (s == UCS_OK) return Status::Ok();
    if (closed_.load()) return CancelledError("transport closed");
    if (timed_out) {
      return UnavailableError(std::string(what) + ": peer sent nothing for " +
                              std::to_string(timeout_ms) + " ms");
    }
    const ucs_status_t e = error_.load();
    return UnavailableError(std::string(what) + ": peer connection lost (" +
                            ucs_status_string(e != UCS_OK ? e : s) + ")");
  }

  const std::shared_ptr<UcxWorker> worker_;
  std::mutex ep_mu_;
  ucp_ep_h ep_ = nullptr;  // guarded by ep_mu_ (null once closed)
  std::atomic<bool> closed_{false};
  std::atomic<ucs_status_t> error_{UCS_OK};
};

class UcxListener final : public TransportListener {
 public:
  static StatusOr<std::unique_ptr<TransportListener>> Create(const std::string& host, int port) {
    KVS_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
    std::unique_ptr<UcxListener> l(new UcxListener());
    KVS_ASSIGN_OR_RETURN(l->worker_, UcxWorker::Create());
    ucp_listener_params_t p{};
    p.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER;
    p.sockaddr.addr = reinterpret_cast<const sockaddr*>(&addr);
    p.sockaddr.addrlen = sizeof(addr);
    p.conn_handler.cb = &UcxListener::OnConnRequest;
    p.conn_handler.arg = l.get();
    ucs_status_t s = ucp_listener_create(l->worker_->worker(), &p, &l->listener_);
    if (s != UCS_OK)
      return UcsError("ucp_listener_create on " + host + ":" + std::to_string(port), s);
    ucp_listener_attr_t attr{};
    attr.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR;
    s = ucp_listener_query(l->listener_, &attr);
    if (s != UCS_OK) return UcsError("ucp_listener_query", s);
    l->port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&attr.sockaddr)->sin_port);
    return std::unique_ptr<TransportListener>(std::move(l));
  }
  ~UcxListener() override {
    if (listener_ != nullptr) ucp_listener_destroy(listener_);
    for (ucp_conn_request_h r : pending_) ucp_listener_reject(listener_, r);
  }
  int port() const override { return port_; }

  StatusOr<std::unique_ptr<Transport>> Accept(int timeout_ms) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      ucp_conn_request_h req = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!pending_.empty()) {
          req = pending_.front();
          pending_.pop_front();
        }
      }
      if (req != nullptr) {
        ucp_ep_params_t p{};
        p.field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST;
        p.conn_request = req;
        KVS_ASSIGN_OR_RETURN(std::unique_ptr<UcxTransport> t, UcxTransport::Create(worker_, p));
        // The connecting side waits for the wireup too, which needs this
        // worker progressed: wait here until both ends are connected.
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        KVS_RETURN_IF_ERROR(t->WaitConnected(std::max<int>(1000, int(left.count()))));
        return std::unique_ptr<Transport>(std::move(t));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return UnavailableError("no engine connected within " + std::to_string(timeout_ms) + " ms");
      }
      worker_->ProgressOrWait();
    }
  }

  std::shared_ptr<UcxWorker> worker() const { return worker_; }

 private:
  UcxListener() = default;
  static void OnConnRequest(ucp_conn_request_h req, void* arg) {
    auto* l = static_cast<UcxListener*>(arg);
    std::lock_guard<std::mutex> lock(l->mu_);
    l->pending_.push_back(req);
  }

  std::shared_ptr<UcxWorker> worker_;
  ucp_listener_h listener_ = nullptr;
  int port_ = 0;
  std::mutex mu_;
  std::deque<ucp_conn_request_h> pending_;  // guarded by mu_
};

}  // namespace

StatusOr<std::unique_ptr<TransportListener>> UcxListen(const std::string& host, int port) {
  return UcxListener::Create(host, port);
}

StatusOr<std::unique_ptr<Transport>> UcxConnect(const std::string& host, int port, int timeout_ms) {
  KVS_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  KVS_ASSIGN_OR_RETURN(std::shared_ptr<UcxWorker> worker, UcxWorker::Create());
  ucp_ep_params_t p{};
  p.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR;
  p.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
  p.sockaddr.addr = reinterpret_cast<const sockaddr*>(&addr);
  p.sockaddr.addrlen = sizeof(addr);
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<UcxTransport> t, UcxTransport::Create(std::move(worker), p));
  KVS_RETURN_IF_ERROR(t->WaitConnected(timeout_ms));
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace kvs
