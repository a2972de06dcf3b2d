// The avx2 kernel table: simd_kernels-inl.h compiled with this file's
// instruction-set flags (CMake gives *_avx2.cc files their own flags).
#define KVS_SIMD_NS avx2
#include "backend/cpu/simd_kernels-inl.h"

namespace kvs::cpu {

const KernelTable& Avx2Kernels() {
  static constexpr KernelTable kTable = {Isa::kAvx2, avx2::ReadsPacked, avx2::QuantizeRow, avx2::MatMulRows,
                                         avx2::MatVecTwoStreams,
                                         avx2::Attention, avx2::StoreKvRow, avx2::SwiGlu, avx2::ReadFold,
                                         nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return kTable;
}

}  // namespace kvs::cpu
