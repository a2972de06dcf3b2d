#include "disagg/wire.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace kvs {

Status ReadFrameHeader(Transport& t, int64_t block_bytes, FrameHeader* out, int timeout_ms) {
  KVS_RETURN_IF_ERROR(t.ReceiveWithin(out, sizeof(*out), timeout_ms));
  if (out->magic != kWireMagic) return DataLossError("KV peer sent a frame without the magic");
  if (out->version != kWireVersion) {
    return FailedPreconditionError("KV peer speaks wire version " + std::to_string(out->version) +
                                   ", this engine " + std::to_string(kWireVersion));
  }
  const uint64_t n = out->payload_bytes;
  bool ok = false;
  switch (static_cast<MsgType>(out->type)) {
    case MsgType::kHello:
      ok = n == sizeof(HelloPayload);
      break;
    case MsgType::kAlloc:
      ok = n >= sizeof(AllocPayload) &&
           n <= sizeof(AllocPayload) + sizeof(TokenId) * uint64_t{kMaxWirePromptTokens} +
                    kMaxSaltBytes;
      break;
    case MsgType::kDone:
    case MsgType::kPing:
      ok = n == 0;
      break;
    case MsgType::kFail:
      ok = n <= kMaxFailBytes;
      break;
    case MsgType::kLayer:
      ok = n >= sizeof(LayerPayload) &&
           n <= sizeof(LayerPayload) + 2 * uint64_t{kMaxBlocksPerFrame} * uint64_t(block_bytes);
      break;
    default:
      return DataLossError("KV peer sent unknown frame type " + std::to_string(out->type));
  }
  if (!ok) {
    return DataLossError("KV peer sent a frame of type " + std::to_string(out->type) + " with " +
                         std::to_string(n) + " payload bytes");
  }
  return Status::Ok();
}

Status SendFrame(Transport& t, MsgType type, RequestId id, const void* payload, uint32_t n) {
  FrameHeader h;
  h.type = static_cast<uint16_t>(type);
  h.payload_bytes = n;
  h.request_id = id;
  const ConstBuffer parts[2] = {{&h, sizeof(h)}, {payload, n}};
  return t.Send({parts, n == 0 ? size_t{1} : size_t{2}});
}

Status SendFail(Transport& t, RequestId id, const std::string& reason) {
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>(reason.size(), kMaxFailBytes));
  return SendFrame(t, MsgType::kFail, id, reason.data(), n);
}

Status SendAlloc(Transport& t, RequestId id, AllocPayload head, std::span<const TokenId> prompt,
                 const std::string& salt) {
  if (prompt.size() > size_t(kMaxWirePromptTokens) || salt.size() > size_t(kMaxSaltBytes)) {
    return InvalidArgumentError("prompt or salt too long for the KV wire");
  }
  head.n_prompt_tokens = static_cast<int32_t>(prompt.size());
  head.salt_bytes = static_cast<int32_t>(salt.size());
  FrameHeader h;
  h.type = static_cast<uint16_t>(MsgType::kAlloc);
  h.payload_bytes = static_cast<uint32_t>(sizeof(head) + prompt.size_bytes() + salt.size());
  h.request_id = id;
  const ConstBuffer parts[4] = {
      {&h, sizeof(h)}, {&head, sizeof(head)}, {prompt.data(), prompt.size_bytes()},
      {salt.data(), salt.size()}};
  return t.Send({parts, 4});
}

Status ReceiveAlloc(Transport& t, const FrameHeader& h, int timeout_ms, AllocMessage* out) {
  KVS_RETURN_IF_ERROR(t.ReceiveWithin(&out->head, sizeof(out->head), timeout_ms));
  const AllocPayload& a = out->head;
  if (a.n_prompt_tokens < 1 || a.n_prompt_tokens > kMaxWirePromptTokens || a.salt_bytes < 0 ||
      a.salt_bytes > kMaxSaltBytes ||
      h.payload_bytes != sizeof(a) + sizeof(TokenId) * uint64_t(a.n_prompt_tokens) +
                             uint64_t(a.salt_bytes)) {
    return DataLossError("KV peer sent a malformed allocation frame");
  }
  out->prompt.resize(size_t(a.n_prompt_tokens));
  out->salt.assign(size_t(a.salt_bytes), '\0');
  KVS_RETURN_IF_ERROR(
      t.ReceiveWithin(out->prompt.data(), out->prompt.size() * sizeof(TokenId), timeout_ms));
  if (!out->salt.empty()) {
    KVS_RETURN_IF_ERROR(t.ReceiveWithin(out->salt.data(), out->salt.size(), timeout_ms));
  }
  return Status::Ok();
}

std::string FingerprintHex(const Fingerprint& f, size_t n_bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < std::min(n_bytes, f.size()); ++i) {
    s += kDigits[f[i] >> 4];
    s += kDigits[f[i] & 15];
  }
  return s;
}

namespace {
std::string Dtype(const char (&d)[8]) { return std::string(d, strnlen(d, sizeof(d))); }
}  // namespace

std::string DescribeMismatch(const KvLayout& mine, const KvLayout& peer) {
  std::string why;
  auto add = [&](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (mine.model != peer.model) {
    add("model files differ (fingerprint " + FingerprintHex(mine.model, 8) + " here, " + FingerprintHex(peer.model, 8) +
        " on the peer)");
  }
  auto cmp = [&](const char* what, int64_t a, int64_t b) {
    if (a != b)
      add(std::string(what) + " " + std::to_string(a) + " here, " + std::to_string(b) +
          " on the peer");
  };
  cmp("layers", mine.n_layers, peer.n_layers);
  cmp("KV heads", mine.n_kv_heads, peer.n_kv_heads);
  cmp("head dim", mine.head_dim, peer.head_dim);
  cmp("KV block size", mine.block_size, peer.block_size);
  if (Dtype(mine.kv_dtype) != Dtype(peer.kv_dtype)) {
    add("KV dtype " + Dtype(mine.kv_dtype) + " here, " + Dtype(peer.kv_dtype) + " on the peer");
  }
  cmp("bytes per KV block", mine.block_bytes, peer.block_bytes);
  return why;
}

StatusOr<std::string> Handshake(Transport& t, const KvLayout& mine, const std::string& my_name,
                                const char* my_role, int timeout_ms) {
  HelloPayload hello;
  hello.layout = mine;
  if (my_name.size() >= sizeof(hello.worker_name)) {
    return InvalidArgumentError("worker name longer than " +
                                std::to_string(sizeof(hello.worker_name) - 1) + " bytes");
  }
  std::memcpy(hello.worker_name, my_name.data(), my_name.size());
  KVS_RETURN_IF_ERROR(SendFrame(t, MsgType::kHello, 0, &hello, sizeof(hello)));
  FrameHeader h;
  KVS_RETURN_IF_ERROR(ReadFrameHeader(t, mine.block_bytes, &h, timeout_ms));
  if (h.type != static_cast<uint16_t>(MsgType::kHello)) {
    return DataLossError("KV peer did not start with a hello");
  }
  HelloPayload peer;
  KVS_RETURN_IF_ERROR(t.ReceiveWithin(&peer, sizeof(peer), timeout_ms));
  if (peer.byte_order != hello.byte_order) {
    return FailedPreconditionError("KV peer has another byte order; refusing to pair");
  }
  const std::string why = DescribeMismatch(mine, peer.layout);
  if (!why.empty()) {
    return FailedPreconditionError(std::string(my_role) +
                                   " engine refuses to pair with its KV peer: " + why);
  }
  return std::string(peer.worker_name, strnlen(peer.worker_name, sizeof(peer.worker_name)));
}

Fingerprint PromptHash(std::span<const TokenId> prompt) {
  Fingerprint f{};
  unsigned int len = 0;
  EVP_Digest(prompt.data(), prompt.size_bytes(), f.data(), &len, EVP_sha256(), nullptr);
  return f;
}

}  // namespace kvs
