#include "events/kv_event_encoder.h"

#include <msgpack.hpp>

namespace kvs::events {
namespace {

// msgpack-c writes through any object with write(const char*, size_t).
struct StringWriter {
  std::string* out;
  void write(const char* data, size_t n) { out->append(data, n); }
};

using Packer = msgpack::packer<StringWriter>;

void PackHash(Packer& pk, const BlockHash& h, const KvEventEncoding& enc) {
  if (enc.int_hashes) {
    pk.pack_uint64(ExternalBlockHash(h));
  } else {
    pk.pack_bin(static_cast<uint32_t>(h.bytes.size()));
    pk.pack_bin_body(reinterpret_cast<const char*>(h.bytes.data()),
                     static_cast<uint32_t>(h.bytes.size()));
  }
}

void PackString(Packer& pk, const std::string& s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

}  // namespace

uint64_t ExternalBlockHash(const BlockHash& hash) {
  uint64_t v = 0;
  for (size_t i = hash.bytes.size() - 8; i < hash.bytes.size(); ++i) v = (v << 8) | hash.bytes[i];
  return v;
}

void EncodeKvEventBatch(const KvEventLog& log, const KvEventEncoding& enc, std::string* out) {
  out->clear();
  StringWriter w{out};
  Packer pk(w);
  pk.pack_array(3);
  pk.pack_double(log.timestamp);
  pk.pack_array(static_cast<uint32_t>(log.events().size()));
  for (const KvEvent& e : log.events()) {
    switch (e.kind) {
      case KvEventKind::kStored: {
        pk.pack_array(7);
        PackString(pk, "BlockStored");
        pk.pack_array(e.n_hashes);
        for (const BlockHash& h : log.hashes(e)) PackHash(pk, h, enc);
        if (e.has_parent) {
          PackHash(pk, e.parent, enc);
        } else {
          pk.pack_nil();
        }
        pk.pack_array(e.n_tokens);
        for (TokenId t : log.tokens(e)) pk.pack_int64(t);
        pk.pack_int64(log.block_size);
        pk.pack_nil();  // lora_id: no adapters
        PackString(pk, enc.medium);
        break;
      }
      case KvEventKind::kRemoved:
        pk.pack_array(3);
        PackString(pk, "BlockRemoved");
        pk.pack_array(e.n_hashes);
        for (const BlockHash& h : log.hashes(e)) PackHash(pk, h, enc);
        PackString(pk, enc.medium);
        break;
      case KvEventKind::kAllCleared:
        pk.pack_array(1);
        PackString(pk, "AllBlocksCleared");
        break;
    }
  }
  pk.pack_int64(enc.data_parallel_rank);
}

}  // namespace kvs::events
