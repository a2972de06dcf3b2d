// The avx512 kernel tables: simd_kernels-inl.h compiled with this file's
// instruction-set flags (CMake gives *_avx512.cc files their own flags),
// with BF16 on the bands or by vdpbf16ps (bf16_dot); and the amx table,
// the same kernels plus kernels_amx.cc's prefill and BF16 tiles.
#define KVS_SIMD_NS avx512
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// _mm512_undefined_* placeholders (false positives, fixed in later GCC).
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef __clang__  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "backend/cpu/simd_kernels-inl.h"

namespace kvs::cpu {

namespace {

constexpr KernelTable kAvx512Table = {Isa::kAvx512, avx512::ReadsPacked, avx512::QuantizeRow, avx512::MatMulRows,
                                      avx512::MatVecTwoStreams,
                                      avx512::Attention, avx512::StoreKvRow, avx512::SwiGlu, avx512::ReadFold,
                                      nullptr, nullptr, nullptr, nullptr,
#if defined(__AVX512VNNI__)
                                      avx512::PanelMatMulRows,
#else
                                      nullptr,
#endif
                                      avx512::BandMatMulRows};

constexpr KernelTable WithBf16Dot(KernelTable t) {
  t.bf16_dot = true;
  return t;
}

constexpr KernelTable WithAmx(KernelTable t) {
  t.isa = Isa::kAmx;
  t.amx_pack_act = AmxPackAct;
  t.amx_matmul_rows = AmxMatMulRows;
  t.bf16_pack_act = avx512::RoundRowToBf16;  // the rounding vdpbf16ps takes
  t.bf16_matmul_rows = AmxBf16MatMulRows;
  return t;
}

}  // namespace

const KernelTable& Avx512Kernels() { return kAvx512Table; }

const KernelTable& Avx512Bf16DotKernels() {
  static constexpr KernelTable kTable = WithBf16Dot(kAvx512Table);
  return kTable;
}

const KernelTable& AmxKernels() {
  static constexpr KernelTable kTable = WithAmx(kAvx512Table);
  return kTable;
}

}  // namespace kvs::cpu
