// The KV wire protocol between a prefill engine (P) and a decode engine (D),
// framed on a Transport. Every frame is a FrameHeader followed by
// payload_bytes of payload; integers are in the host's byte order (the
// handshake checks both hosts agree).
//
//   both ways  kHello  HelloPayload: model fingerprint, KV layout and dtype,
//                      and the sender's worker name (what a router and the
//                      decode side's /kvs/info call the prefill worker).
//                      Each side sends its own and checks the peer's; any
//                      difference ends the connection with a clear error.
//   D -> P     kAlloc  AllocPayload, then the prompt's n_prompt_tokens token
//                      ids (int32) and salt_bytes of prefix-cache salt: D has
//                      reserved blocks for prompt[0, n - 1) and already holds
//                      the first n_skip_blocks (prefix cache), which P must
//                      not send. D tokenized the request; P prefills exactly
//                      these ids.
//   P -> D     kLayer  LayerPayload + n_blocks K blocks + n_blocks V blocks
//                      of one layer, request-relative block indices
//                      [first_block, first_block + n_blocks).
//   P -> D     kDone   every (layer, block) of the request has been sent.
//   both ways  kFail   the request failed on the sender's side; payload is
//                      the reason (UTF-8, at most kMaxFailBytes).
//   P -> D     kPing   no payload: P is alive. P's sender sends one whenever
//                      it has sent nothing for ping_interval_ms, so that a D
//                      waiting for KV can tell a busy peer from a vanished one.
// A frame whose header or sizes are out of bounds is a protocol error: the
// connection ends.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/status.h"
#include "disagg/transport.h"

namespace kvs {

constexpr uint32_t kWireMagic = 0x4456534b;  // "KSVD" little-endian
constexpr uint16_t kWireVersion = 2;
constexpr int kMaxBlocksPerFrame = 64;
constexpr uint32_t kMaxFailBytes = 4096;
constexpr int32_t kMaxWirePromptTokens = 1 << 20;
constexpr int32_t kMaxSaltBytes = 256;
constexpr size_t kMaxWorkerNameBytes = 64;

enum class MsgType : uint16_t {
  kHello = 1,
  kAlloc = 2,
  kLayer = 3,
  kDone = 4,
  kFail = 5,
  kPing = 6
};

struct FrameHeader {
  uint32_t magic = kWireMagic;
  uint16_t type = 0;
  uint16_t version = kWireVersion;
  uint32_t payload_bytes = 0;
  uint32_t reserved = 0;
  int64_t request_id = 0;
};
static_assert(sizeof(FrameHeader) == 24);

using Fingerprint = std::array<uint8_t, 32>;

// What both engines must share for one's KV blocks to mean the same in the
// other's pool.
struct KvLayout {
  Fingerprint model{};  // ModelFingerprint (model_fingerprint.h)
  int32_t n_layers = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t block_size = 0;   // tokens per block
  char kv_dtype[8] = {};    // KvStorage::dtype_name(), NUL-padded
  int64_t block_bytes = 0;  // bytes of one block of one layer's K (or V)
};

struct HelloPayload {
  uint32_t byte_order = 0x01020304;
  uint32_t reserved = 0;
  KvLayout layout;
  char worker_name[kMaxWorkerNameBytes] = {};  // NUL-padded
};

struct AllocPayload {
  int32_t n_import_tokens = 0;  // n - 1
  int32_t n_skip_blocks = 0;
  int32_t n_blocks = 0;  // blocks covering n_import_tokens
  int32_t n_prompt_tokens = 0;  // n: the ids that follow
  int32_t salt_bytes = 0;       // then the salt
  int32_t reserved = 0;
  Fingerprint prompt_hash{};  // PromptHash of the whole prompt
};

// A kAlloc frame with its prompt and salt.
struct AllocMessage {
  AllocPayload head;
  std::vector<TokenId> prompt;
  std::string salt;
  int64_t received_ns = 0;  // steady_clock ticks when it arrived (set by the receiver)
};

struct LayerPayload {
  int32_t layer = 0;
  int32_t first_block = 0;
  int32_t n_blocks = 0;
  int32_t reserved = 0;
};

// Reads one frame header and checks magic, version, type and that the
// payload size is possible for the type (block_bytes bounds kLayer).
// timeout_ms as Transport::ReceiveWithin (-1: wait for ever, an idle link).
Status ReadFrameHeader(Transport& t, int64_t block_bytes, FrameHeader* out, int timeout_ms = -1);
// Sends a header and a fixed-size payload (or none).
Status SendFrame(Transport& t, MsgType type, RequestId id, const void* payload, uint32_t n);
Status SendFail(Transport& t, RequestId id, const std::string& reason);
// kAlloc with its prompt and salt (head's n_prompt_tokens and salt_bytes are
// set here).
Status SendAlloc(Transport& t, RequestId id, AllocPayload head, std::span<const TokenId> prompt,
                 const std::string& salt);
// The payload of a kAlloc frame whose header `h` was just read; checks the
// sizes agree.
Status ReceiveAlloc(Transport& t, const FrameHeader& h, int timeout_ms, AllocMessage* out);

// Both sides: sends `mine` and `my_name`, reads the peer's and compares. An
// error names what differs ("model files differ", "block size 16 vs 32",
// ...). A peer silent for timeout_ms fails it. Returns the peer's name.
StatusOr<std::string> Handshake(Transport& t, const KvLayout& mine, const std::string& my_name,
                                const char* my_role, int timeout_ms = 10000);
std::string DescribeMismatch(const KvLayout& mine, const KvLayout& peer);

// Lower-case hex of the first n_bytes of `f` (all of it by default).
std::string FingerprintHex(const Fingerprint& f, size_t n_bytes = 32);

// SHA-256 of the prompt's token ids: D and P check they mean the same prompt.
Fingerprint PromptHash(std::span<const TokenId> prompt);

}  // namespace kvs
