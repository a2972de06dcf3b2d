#include "events/kv_event_encoder.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <string>
#include <vector>

namespace kvs::events {
namespace {

BlockHash HashOf(uint8_t fill) {
  BlockHash h;
  for (size_t i = 0; i < h.bytes.size(); ++i) h.bytes[i] = static_cast<uint8_t>(fill + i);
  return h;
}

TEST(KvEventEncoderTest, ExternalHashIsTheLastEightBytesBigEndian) {
  // int.from_bytes(bytes(range(32)), "big") & (2**64 - 1) == 0x18191a1b1c1d1e1f
  EXPECT_EQ(ExternalBlockHash(HashOf(0)), 0x18191a1b1c1d1e1full);
}

TEST(KvEventEncoderTest, BatchHasVllmsArrayLikeTaggedLayout) {
  KvEventLog log;
  log.block_size = 2;
  log.timestamp = 1700000000.25;
  const std::vector<TokenId> t = {7, 8, 9, 300};
  log.AddStored(nullptr, HashOf(0), std::span(t).subspan(0, 2));
  const BlockHash first = HashOf(0);
  log.AddStored(&first, HashOf(1), std::span(t).subspan(2, 2));
  log.AddRemoved(HashOf(2));
  log.AddAllCleared();
  std::string bytes;
  EncodeKvEventBatch(log, KvEventEncoding{}, &bytes);

  msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
  const msgpack::object& root = oh.get();
  ASSERT_EQ(root.type, msgpack::type::ARRAY);
  ASSERT_EQ(root.via.array.size, 3u);
  EXPECT_EQ(root.via.array.ptr[0].type, msgpack::type::FLOAT64);
  EXPECT_DOUBLE_EQ(root.via.array.ptr[0].as<double>(), 1700000000.25);
  EXPECT_EQ(root.via.array.ptr[2].as<int>(), 0);  // data_parallel_rank
  const msgpack::object& events = root.via.array.ptr[1];
  ASSERT_EQ(events.via.array.size, 3u);

  const msgpack::object& stored = events.via.array.ptr[0];
  ASSERT_EQ(stored.via.array.size, 7u);
  EXPECT_EQ(stored.via.array.ptr[0].as<std::string>(), "BlockStored");
  EXPECT_EQ(stored.via.array.ptr[1].as<std::vector<uint64_t>>(),
            (std::vector<uint64_t>{ExternalBlockHash(HashOf(0)), ExternalBlockHash(HashOf(1))}));
  EXPECT_EQ(stored.via.array.ptr[2].type, msgpack::type::NIL);  // first block: no parent
  EXPECT_EQ(stored.via.array.ptr[3].as<std::vector<int>>(), (std::vector<int>{7, 8, 9, 300}));
  EXPECT_EQ(stored.via.array.ptr[4].as<int>(), 2);
  EXPECT_EQ(stored.via.array.ptr[5].type, msgpack::type::NIL);  // lora_id
  EXPECT_EQ(stored.via.array.ptr[6].as<std::string>(), "GPU");

  const msgpack::object& removed = events.via.array.ptr[1];
  ASSERT_EQ(removed.via.array.size, 3u);
  EXPECT_EQ(removed.via.array.ptr[0].as<std::string>(), "BlockRemoved");
  EXPECT_EQ(removed.via.array.ptr[1].as<std::vector<uint64_t>>(),
            (std::vector<uint64_t>{ExternalBlockHash(HashOf(2))}));

  const msgpack::object& cleared = events.via.array.ptr[2];
  ASSERT_EQ(cleared.via.array.size, 1u);
  EXPECT_EQ(cleared.via.array.ptr[0].as<std::string>(), "AllBlocksCleared");
}

TEST(KvEventEncoderTest, BytesHashesAreRawDigests) {
  KvEventLog log;
  log.AddRemoved(HashOf(5));
  std::string bytes;
  EncodeKvEventBatch(log, KvEventEncoding{.int_hashes = false}, &bytes);
  msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
  const msgpack::object& h =
      oh.get().via.array.ptr[1].via.array.ptr[0].via.array.ptr[1].via.array.ptr[0];
  ASSERT_EQ(h.type, msgpack::type::BIN);
  ASSERT_EQ(h.via.bin.size, 32u);
  EXPECT_EQ(static_cast<uint8_t>(h.via.bin.ptr[0]), 5);
  EXPECT_EQ(static_cast<uint8_t>(h.via.bin.ptr[31]), 36);
}

}  // namespace
}  // namespace kvs::events
