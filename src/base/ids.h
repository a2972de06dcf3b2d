// The ids that cross component boundaries, in one place, so that kv/ and
// engine/ need not include the tokenizer or each other for a typedef.
//
// They are aliases, not distinct types: block tables go to the attention
// kernels as int32_t arrays and token ids to the sampler as indices, and
// wrapping them would put conversions on those paths. Names carry the
// meaning: a BlockId is an index into the KV pool, a SeqId names one
// sequence in the KV manager (the engine uses its RequestId), a TokenId is
// an index into the vocabulary.
#pragma once

#include <cstdint>

namespace kvs {

using TokenId = int32_t;
using BlockId = int32_t;
using SeqId = int64_t;
using RequestId = int64_t;

}  // namespace kvs
