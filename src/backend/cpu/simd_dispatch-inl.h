// Part of simd_kernels-inl.h: running a kernel's tiles over a MatMul's rows
// and tokens, and choosing the kernel for a weight type.
// Exempt from the 400-line guideline as a SIMD kernel file.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/pack_quant.h"
#include "backend/cpu/simd_bf16_dot-inl.h"
#include "backend/cpu/simd_matmul-inl.h"
#include "backend/cpu/simd_matmul_types-inl.h"
#include "backend/cpu/simd_packed_avx2-inl.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// Tokens per pass over a thread's weight rows in the n > 1 path. Quantized
// kernels take as many as keep their activations within kActBudget bytes,
// in L1 where every weight tile re-reads them (measured on the TinyLlama
// FFN shape, 64 tokens: Q8_0 103 -> 144 GMAC/s against a fixed 64-token
// pass); float kernels, whose activation rows are 4x larger, keep 64 tokens
// in L2 (an L1-sized pass cost F16 prefill a third).
constexpr int64_t kActBudget = 32 << 10;
constexpr int64_t kFloatTokenChunk = 64;

// fn.template operator()<TR, TC>(r, t) for the tiles over rows [r0, r1) and
// tokens [t0, t1): R x C, then the edges in R x 1, 1 x C and 1 x 1.
template <int R, int C, class Fn>
inline void ForEachTile(int64_t r0, int64_t r1, int64_t t0, int64_t t1, const Fn& fn) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    int64_t t = t0;
    for (; t + C <= t1; t += C) fn.template operator()<R, C>(r, t);
    for (; t < t1; ++t) fn.template operator()<R, 1>(r, t);
  }
  for (; r < r1; ++r) {
    int64_t t = t0;
    for (; t + C <= t1; t += C) fn.template operator()<1, C>(r, t);
    for (; t < t1; ++t) fn.template operator()<1, 1>(r, t);
  }
}

template <class K>
void RunTiles(const MatMulArgs& a, int64_t r0, int64_t r1) {
  constexpr int R = K::kR, C = K::kC;
  // BF16 rows rounded for Bf16DotKernel are half a float row: they take
  // the float kernels' token chunk.
  const bool quantized = a.xq != nullptr && a.type != DType::kBF16;
  int64_t chunk = quantized ? kActBudget / a.xq_row_bytes / C * C : kFloatTokenChunk / C * C;
  if (chunk < C) chunk = C;
  for (int64_t t0 = 0; t0 < a.n; t0 += chunk) {
    const int64_t t1 = a.n < t0 + chunk ? a.n : t0 + chunk;
    ForEachTile<R, C>(r0, r1, t0, t1,
                      [&]<int TR, int TC>(int64_t r, int64_t t) { K::template Tile<TR, TC>(a, r, t); });
  }
}

// Both streams' rows in one Tile<2, 1>, interleaved load by load. Once,
// packed Q4_0 ran whole rows one stream at a time (34.5 -> 38.4 tok/s,
// kvserve bench tg, 1 thread, when its tile ran one chain a row), and F16
// and Q8_0 interleaved (13.8 and 28.0 against 13.0 and 26.7 whole). On a
// 2-core Xeon VM, a pure read through the same MatMul calls (matmul_bench
// BM_DecodeMatMuls, 1 thread, Q4_0 rows, two or three rounds) ran 13.0-13.6
// GB/s one stream's chunk at a time, 14.5-15.9 with the streams alternating
// row by row and 14.6-17.2 interleaved every 128 bytes (the read loop:
// 15.2-17.4): two streams read faster the finer they interleave. Once the
// packed Q4 tile ran two chains a row, it gained from group-by-group
// interleaving (five alternations, median GB/s whole rows -> Tile<2, 1>):
// Q8_0 15.1 -> 16.0, Q4_0 14.2 -> 14.7, Q4_1 13.8 -> 14.4, IQ4_NL 13.5 ->
// 14.3, Q4_K 13.2 -> 14.7, Q5_K 13.9 -> 14.6. The last to run whole rows,
// PackedQ16Kernel (Q2_K, Q3_K, Q6_K), gained too on a Zen 4 VM (1 thread,
// three alternations, GB/s): Q2_K 18.7-19.0 -> 21.4-21.7, Q3_K 19.8-20.3 ->
// 24.1-24.7, Q6_K 17.8-21.9 -> 23.3-24.4; 2 threads Q3_K 38 -> 46.
template <class K>
void RunTwoStreams(const MatMulArgs& a, int64_t first, int64_t second, int64_t count) {
  for (int64_t i = 0; i < count; ++i) K::template Tile<2, 1>(a, first + i, 0, second - first);
}

// Calls Run<Kernel>::Go(a, args...) for a's weight type and layout; F32 is
// the callers' (the reference's exact order, MatMulRowsF32Exact).
template <template <class> class Run, class... Args>
void Dispatch(const MatMulArgs& a, Args... args) {
  switch (a.type) {
    case DType::kF32: return;
    case DType::kF16: return Run<HalfKernel<LoadF16>>::Go(a, args...);
    case DType::kBF16:
#if defined(__AVX512BF16__)
      if (a.xq != nullptr) return Run<Bf16DotKernel>::Go(a, args...);  // a bf16_dot table
#endif
      return Run<HalfKernel<LoadBF16>>::Go(a, args...);
#if defined(__AVX512VNNI__)
    case DType::kQ8_0:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ8_0>>::Go(a, args...);
      return Run<Q8_0KernelVnni>::Go(a, args...);
#else
    case DType::kQ8_0:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ8_0>>::Go(a, args...);
      return Run<Q32Kernel<UnpackQ8_0>>::Go(a, args...);
#endif
    case DType::kQ4_0:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ4_0>>::Go(a, args...);
#else
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ4_0>>::Go(a, args...);
#endif
      return Run<Q32Kernel<UnpackQ4_0>>::Go(a, args...);
    case DType::kQ4_K:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ4K>>::Go(a, args...);
#else
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ4K>>::Go(a, args...);
#endif
      return Run<SuperBlockKernel<Q4KImpl>>::Go(a, args...);
    case DType::kQ6_K:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ16Kernel<PackedQ6KP>>::Go(a, args...);
#endif
      return Run<Q6KKernel>::Go(a, args...);
#if defined(__AVX512VNNI__)
    case DType::kQ4_1:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ4_1>>::Go(a, args...);
      return Run<Q32KernelVnni<UnpackGroupLoader<UnpackQ4_1>>>::Go(a, args...);
    case DType::kQ5_0:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ5_0>>::Go(a, args...);
      return Run<Q32KernelVnni<UnpackGroupLoader<UnpackQ5_0>>>::Go(a, args...);
    case DType::kQ5_1:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ5_1>>::Go(a, args...);
      return Run<Q32KernelVnni<UnpackGroupLoader<UnpackQ5_1>>>::Go(a, args...);
    case DType::kIQ4_NL:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedIQ4NL>>::Go(a, args...);
      return Run<Q32KernelVnni<UnpackGroupLoader<UnpackIQ4NL>>>::Go(a, args...);
#else
    case DType::kQ4_1:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ4_1>>::Go(a, args...);
      return Run<Q32Kernel<UnpackQ4_1>>::Go(a, args...);
    case DType::kQ5_0:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ5_0>>::Go(a, args...);
      return Run<Q32Kernel<UnpackQ5_0>>::Go(a, args...);
    case DType::kQ5_1:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ5_1>>::Go(a, args...);
      return Run<Q32Kernel<UnpackQ5_1>>::Go(a, args...);
    case DType::kIQ4_NL:
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedIQ4NL>>::Go(a, args...);
      return Run<Q32Kernel<UnpackIQ4NL>>::Go(a, args...);
#endif
    case DType::kQ2_K:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ16Kernel<PackedQ2KP>>::Go(a, args...);
#endif
      return Run<SuperBlockKernel<Q2KImpl>>::Go(a, args...);
    case DType::kQ3_K:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ16Kernel<PackedQ3KP>>::Go(a, args...);
#endif
      return Run<SuperBlockKernel<Q3KImpl>>::Go(a, args...);
    case DType::kQ5_K:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedQ5K>>::Go(a, args...);
#else
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedQ5K>>::Go(a, args...);
#endif
      return Run<SuperBlockKernel<Q5KImpl>>::Go(a, args...);
    case DType::kIQ4_XS:
#if defined(__AVX512VNNI__)
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4Kernel<PackedIQ4XS>>::Go(a, args...);
#else
      if (a.layout == WeightLayout::kPacked) return Run<PackedQ4KernelAvx2<Avx2PackedIQ4XS>>::Go(a, args...);
#endif
      return Run<SuperBlockKernel<IQ4XSImpl>>::Go(a, args...);
  }
}
template <class K>
struct TilesRunner {
  static void Go(const MatMulArgs& a, int64_t r0, int64_t r1) { RunTiles<K>(a, r0, r1); }
};
template <class K>
struct TwoStreamsRunner {
  static void Go(const MatMulArgs& a, int64_t first, int64_t second, int64_t count) {
    RunTwoStreams<K>(a, first, second, count);
  }
};

// KernelTable::reads_packed: AVX-512 VNNI reads every type pack_quant.h
// packs; AVX2 those of simd_packed_avx2-inl.h.
bool ReadsPacked(DType wtype) {
#if defined(__AVX512VNNI__)
  return PackedRowBytes(wtype, kGroupElems) > 0;
#else
  switch (wtype) {
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ4_K:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ5_K:
    case DType::kQ8_0:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS: return true;
    default: return false;
  }
#endif
}

void MatMulRows(const MatMulArgs& a, int64_t r0, int64_t r1) {
  if (a.type == DType::kF32) return MatMulRowsF32Exact(a, r0, r1);
  Dispatch<TilesRunner>(a, r0, r1);
}

void MatVecTwoStreams(const MatMulArgs& a, int64_t first, int64_t second, int64_t count) {
  if (a.type == DType::kF32) {
    MatMulRowsF32Exact(a, first, first + count);
    return MatMulRowsF32Exact(a, second, second + count);
  }
  Dispatch<TwoStreamsRunner>(a, first, second, count);
}

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
