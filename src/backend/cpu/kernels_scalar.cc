// Portable kernels (Isa::kScalar) and the pieces every path shares. The
// quantized kernels use the same integer-dot formulation as the SIMD ones
// (activation quantized once per call), so this path is a real fallback and
// a readable statement of what the SIMD kernels compute.
#include <cmath>
#include <cstring>

#include "backend/cpu/blocks.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/scalar_dots.h"
#include "base/check.h"
#include "tensor/quant.h"

namespace kvs::cpu {
namespace {

// ---- activation quantization ----

void QuantizeQ8Blocks(const float* x, int64_t cols, ABlockQ8* out) {
  for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
    const float* xb = x + b * kQ8Elems;
    float amax = 0.0f;
    for (int i = 0; i < kQ8Elems; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    for (int i = 0; i < kQ8Elems; ++i) out[b].qs[i] = static_cast<int8_t>(std::lrintf(xb[i] * id));
  }
}

void QuantizeQ8KBlocks(const float* x, int64_t cols, ABlockQ8K* out) {
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    const float* xb = x + b * kQKElems;
    float amax = 0.0f;
    for (int i = 0; i < kQKElems; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    for (int i = 0; i < kQKElems; ++i) out[b].qs[i] = static_cast<int8_t>(std::lrintf(xb[i] * id));
    for (int j = 0; j < kQKElems / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += out[b].qs[16 * j + i];
      out[b].bsums[j] = static_cast<int16_t>(sum);
    }
  }
}

void QuantizeRowScalar(DType wtype, WeightLayout /*file only*/, const float* x, int64_t cols,
                       uint8_t* out) {
  if (BlockElems(wtype) == kQ8Elems) {
    QuantizeQ8Blocks(x, cols, reinterpret_cast<ABlockQ8*>(out));
  } else {
    QuantizeQ8KBlocks(x, cols, reinterpret_cast<ABlockQ8K*>(out));
  }
}

// ---- dot products of one weight row with one activation row ----

float DotQ8_0(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ8_0*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQ8Elems; ++i) isum += int32_t{w[b].qs[i]} * x[b].qs[i];
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

float DotQ4_0(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ4_0*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQ8Elems; ++b) {
    int32_t isum = 0;
    for (int i = 0; i < kQ8Elems / 2; ++i) {
      isum += ((w[b].qs[i] & 15) - 8) * x[b].qs[i];
      isum += ((w[b].qs[i] >> 4) - 8) * x[b].qs[i + 16];
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

float DotQ4K(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ4K*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8K*>(xrow);
  float acc = 0.0f;
  float acc_min = 0.0f;
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    int32_t isum = 0;
    int32_t msum = 0;
    for (int s = 0; s < 8; ++s) {
      int sc, m;
      UnpackScaleMinK4(s, w[b].scales, &sc, &m);
      const uint8_t* q = w[b].qs + 32 * (s / 2);
      const int shift = (s % 2) * 4;
      int32_t dot = 0;
      for (int i = 0; i < 32; ++i) dot += ((q[i] >> shift) & 15) * x[b].qs[32 * s + i];
      isum += sc * dot;
      msum += m * (x[b].bsums[2 * s] + x[b].bsums[2 * s + 1]);
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
    acc_min += static_cast<float>(msum) * (F16ToF32(w[b].dmin) * x[b].d);
  }
  return acc - acc_min;
}

float DotQ6K(const uint8_t* wrow, const uint8_t* xrow, int64_t cols) {
  const auto* w = reinterpret_cast<const WBlockQ6K*>(wrow);
  const auto* x = reinterpret_cast<const ABlockQ8K*>(xrow);
  float acc = 0.0f;
  for (int64_t b = 0; b < cols / kQKElems; ++b) {
    int32_t isum = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[b].ql + 64 * h;
      const uint8_t* qh = w[b].qh + 32 * h;
      const int8_t* xq = x[b].qs + 128 * h;
      const int8_t* sc = w[b].scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int q1 = (ql[l] & 15) | (((qh[l] >> 0) & 3) << 4);
        const int q2 = (ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4);
        const int q3 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
        const int q4 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        const int g = l / 16;
        isum += sc[g + 0] * (q1 - 32) * xq[l];
        isum += sc[g + 2] * (q2 - 32) * xq[l + 32];
        isum += sc[g + 4] * (q3 - 32) * xq[l + 64];
        isum += sc[g + 6] * (q4 - 32) * xq[l + 96];
      }
    }
    acc += static_cast<float>(isum) * (F16ToF32(w[b].d) * x[b].d);
  }
  return acc;
}

template <float (*Convert)(uint16_t)>
float DotHalf(const uint8_t* wrow, const float* x, int64_t cols) {
  const auto* w = reinterpret_cast<const uint16_t*>(wrow);
  float acc = 0.0f;
  for (int64_t j = 0; j < cols; ++j) acc += Convert(w[j]) * x[j];
  return acc;
}

void MatMulRowsScalar(const MatMulArgs& a, int64_t r0, int64_t r1) {
  if (a.type == DType::kF32) return MatMulRowsF32Exact(a, r0, r1);
  const ScalarDotFn dot = ScalarDotFor(a.type);
  for (int64_t t = 0; t < a.n; ++t) {
    const uint8_t* xq = a.xq + t * a.xq_row_bytes;
    const float* x = a.x + t * a.cols;
    float* out = a.out + t * a.rows;
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* w = a.w + r * a.w_row_bytes;
      switch (a.type) {
        case DType::kF32: break;  // handled above
        case DType::kF16: out[r] = DotHalf<F16ToF32>(w, x, a.cols); break;
        case DType::kBF16: out[r] = DotHalf<BF16ToF32>(w, x, a.cols); break;
        case DType::kQ8_0: out[r] = DotQ8_0(w, xq, a.cols); break;
        case DType::kQ4_0: out[r] = DotQ4_0(w, xq, a.cols); break;
        case DType::kQ4_K: out[r] = DotQ4K(w, xq, a.cols); break;
        case DType::kQ6_K: out[r] = DotQ6K(w, xq, a.cols); break;
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ5_1:
        case DType::kIQ4_NL:
        case DType::kQ2_K:
        case DType::kQ3_K:
        case DType::kQ5_K:
        case DType::kIQ4_XS: out[r] = dot(w, xq, a.cols); break;
      }
    }
  }
}

// ---- attention ----

// Values [e0, e0 + n) of a KV cache row stored as t, as float.
void KvValuesToFloat(DType t, const uint8_t* row, int64_t e0, int n, float* out) {
  switch (t) {
    case DType::kF16:
    case DType::kBF16:
      for (int i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, row + 2 * (e0 + i), sizeof h);
        out[i] = t == DType::kF16 ? F16ToF32(h) : BF16ToF32(h);
      }
      return;
    case DType::kQ8_0:
      for (int i = 0; i < n; ++i) {
        const auto* b = reinterpret_cast<const WBlockQ8_0*>(row) + (e0 + i) / kQ8Elems;
        out[i] = F16ToF32(b->d) * b->qs[(e0 + i) % kQ8Elems];
      }
      return;
    default:
      std::memcpy(out, reinterpret_cast<const float*>(row) + e0, n * sizeof(float));
      return;
  }
}

void AttentionScalar(const PagedAttentionArgs& a, int64_t t, int kvh, float* scratch) {
  const int group = a.n_heads / a.n_kv_heads;
  const int hd = a.head_dim;
  const int64_t kv_dim = int64_t{a.n_kv_heads} * hd;
  const int64_t row_bytes = KvRowBytes(a.kv_dtype, kv_dim);
  const bool f32 = a.kv_dtype == DType::kF32;
  float* acc = scratch;                     // [group, hd]
  float* scores = acc + group * hd;         // [group, kAttnChunk]
  float* mx = scores + group * kAttnChunk;  // [group]
  float* sum = mx + group;                  // [group]
  float* row = sum + group;                 // [hd]: one decoded K or V head
  const float* q = a.q + (t * a.n_heads + int64_t{kvh} * group) * hd;  // [group, hd]
  const int32_t* table = a.block_tables[t];
  // Head kvh of cache row `slot`, as float.
  auto head = [&](const uint8_t* cache, int64_t slot) -> const float* {
    const uint8_t* r = cache + slot * row_bytes;
    if (f32) return reinterpret_cast<const float*>(r) + int64_t{kvh} * hd;
    KvValuesToFloat(a.kv_dtype, r, int64_t{kvh} * hd, hd, row);
    return row;
  };
  for (int g = 0; g < group; ++g) {
    mx[g] = -INFINITY;
    sum[g] = 0.0f;
    for (int i = 0; i < hd; ++i) acc[g * hd + i] = 0.0f;
  }
  const int32_t n_pos = a.positions[t] + 1;
  for (int32_t p0 = 0; p0 < n_pos; p0 += kAttnChunk) {
    const int np = n_pos - p0 < kAttnChunk ? n_pos - p0 : kAttnChunk;
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      const float* k = head(a.k_cache, slot);
      for (int g = 0; g < group; ++g) {
        float s = 0.0f;
        for (int j = 0; j < hd; ++j) s += q[g * hd + j] * k[j];
        scores[g * kAttnChunk + i] = s * a.scale;
      }
    }
    for (int g = 0; g < group; ++g) {
      float* sg = scores + g * kAttnChunk;
      float m = mx[g];
      for (int i = 0; i < np; ++i) m = std::fmax(m, sg[i]);
      const float correction = std::exp(mx[g] - m);  // exp(-inf) = 0 on the first chunk
      mx[g] = m;
      float chunk_sum = 0.0f;
      for (int i = 0; i < np; ++i) {
        sg[i] = std::exp(sg[i] - m);
        chunk_sum += sg[i];
      }
      sum[g] = sum[g] * correction + chunk_sum;
      for (int j = 0; j < hd; ++j) acc[g * hd + j] *= correction;
    }
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      const float* v = head(a.v_cache, slot);
      for (int g = 0; g < group; ++g) {
        const float w = scores[g * kAttnChunk + i];
        for (int j = 0; j < hd; ++j) acc[g * hd + j] += w * v[j];
      }
    }
  }
  for (int g = 0; g < group; ++g) {
    float* o = a.out + (t * a.n_heads + int64_t{kvh} * group + g) * hd;
    const float inv = 1.0f / sum[g];
    for (int j = 0; j < hd; ++j) o[j] = acc[g * hd + j] * inv;
  }
}

void StoreKvRowScalar(DType dtype, const float* x, int64_t n, uint8_t* out) {
  QuantizeRow(dtype, x, out, n);
}

void SwiGluScalar(const float* gate, const float* up, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    float g = gate[i];
    g *= 1.0f / (1.0f + std::exp(-g));
    out[i] = g * up[i];
  }
}

}  // namespace

void MatMulRowsF32Exact(const MatMulArgs& a, int64_t r0, int64_t r1) {
  // Four rows at a time for instruction-level parallelism; each output still
  // has its own accumulator and column order.
  for (int64_t t = 0; t < a.n; ++t) {
    const float* x = a.x + t * a.cols;
    float* out = a.out + t * a.rows;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
      const float* w0 = reinterpret_cast<const float*>(a.w + r * a.w_row_bytes);
      const float* w1 = reinterpret_cast<const float*>(a.w + (r + 1) * a.w_row_bytes);
      const float* w2 = reinterpret_cast<const float*>(a.w + (r + 2) * a.w_row_bytes);
      const float* w3 = reinterpret_cast<const float*>(a.w + (r + 3) * a.w_row_bytes);
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
      for (int64_t j = 0; j < a.cols; ++j) {
        s0 += w0[j] * x[j];
        s1 += w1[j] * x[j];
        s2 += w2[j] * x[j];
        s3 += w3[j] * x[j];
      }
      out[r] = s0;
      out[r + 1] = s1;
      out[r + 2] = s2;
      out[r + 3] = s3;
    }
    for (; r < r1; ++r) {
      const float* w = reinterpret_cast<const float*>(a.w + r * a.w_row_bytes);
      float s = 0.0f;
      for (int64_t j = 0; j < a.cols; ++j) s += w[j] * x[j];
      out[r] = s;
    }
  }
}

int64_t ActRowBytes(const KernelTable& table, DType wtype, WeightLayout layout, int64_t cols) {
  if (wtype == DType::kBF16 && table.bf16_dot) return (cols + 31) / 32 * 64;  // bf16, whole 32s
  if (wtype == DType::kF16 || wtype == DType::kBF16) return 0;  // the kernels read x itself
  if (layout == WeightLayout::kPacked) {
    const bool halves = wtype == DType::kQ2_K || wtype == DType::kQ3_K || wtype == DType::kQ6_K;
    return (cols + kGroupElems - 1) / kGroupElems *
           static_cast<int64_t>(halves ? sizeof(ABlockQ8x16H) : sizeof(ABlockQ8x16));
  }
  switch (BlockElems(wtype)) {
    case kQ8Elems: return cols / kQ8Elems * int64_t{sizeof(ABlockQ8)};
    case kQKElems: return cols / kQKElems * int64_t{sizeof(ABlockQ8K)};
    default: return 0;  // float types read x itself
  }
}

// Not the types with a min (Q4_1, Q5_1, Q4_K, Q5_K): their AMX epilogue
// subtracts the min term per token and block on top of the scale, and the
// panel path ran their prefill faster (kvserve bench pp512, 1 thread, AMX
// against AVX-512 alternating, three rounds, Xeon VM with AMX, 2026-12-07:
// Q4_K 130.1 -> 142.2 tok/s, Q5_K 132.4 -> 138.7, Q5_1 126.4 -> 140.3, Q4_1
// 132.3 -> 144.1, 12 of 12 pairs; the others stay faster on AMX: Q4_0
// 179.3 / 139.0, IQ4_NL 175.3 / 156.9, IQ4_XS 172.4 / 159.6, Q2_K 128.5 /
// 115.5).
bool AmxReads(DType wtype) {
  switch (wtype) {
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
    case DType::kQ2_K:
    case DType::kQ8_0:
      return true;
    default: return false;
  }
}

int64_t PanelMinTokens(DType wtype) {
  switch (wtype) {
    case DType::kQ2_K:
      return 8;
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kIQ4_NL:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kIQ4_XS:
      return 32;
    default:  // Q4_0's packed tile unpacks too little to repay it
      return 0;
  }
}

// Per group, 16 blocks of 32 activation bytes (kernels_amx.cc).
int64_t AmxActRowBytes(int64_t cols) { return (cols + kGroupElems - 1) / kGroupElems * kGroupElems; }

// Per group: the weight panel's tiles (16 blocks x 512 bytes) and its
// per-block scales (16 x 16 floats; three such for Q2_K: d and the two half
// mins' weights); then the per-block sums (16 blocks x 16 tokens x 16 rows
// floats) and two C tiles (1 KiB each).
int64_t AmxScratchBytes(int64_t cols) {
  const int64_t groups = (cols + kGroupElems - 1) / kGroupElems;
  return groups * (16 * 512 + 3 * 16 * 16 * 4) + 16 * 16 * 16 * 4 + 2 * 1024;
}

// No streams to overlap in scalar code: the two ranges one after the other.
void MatVecTwoStreamsScalar(const MatMulArgs& a, int64_t first, int64_t second, int64_t count) {
  MatMulRowsScalar(a, first, first + count);
  MatMulRowsScalar(a, second, second + count);
}

int64_t AttentionScratchFloats(int group, int head_dim) {
  return int64_t{group} * head_dim + int64_t{group} * kAttnChunk + 2 * int64_t{group} +
         2 * int64_t{kAttnChunk} * head_dim;
}

namespace {

// One loop for both patterns: the scalar kernels neither prefetch nor
// overlap their two decode streams.
uint64_t ReadFoldScalar(const uint8_t* p, int64_t bytes, bool /*kernel_pattern*/, int64_t /*prefetch_bytes*/) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (int64_t i = 0; i < bytes; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof(w));
    a ^= w[0], b ^= w[1], c ^= w[2], d ^= w[3];
  }
  return a ^ b ^ c ^ d;
}

}  // namespace

const KernelTable& ScalarKernels() {
  static constexpr KernelTable kTable = {Isa::kScalar, nullptr, QuantizeRowScalar, MatMulRowsScalar,
                                         MatVecTwoStreamsScalar, AttentionScalar, StoreKvRowScalar,
                                         SwiGluScalar, ReadFoldScalar, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr};
  return kTable;
}

const KernelTable& KernelsFor(Isa isa, bool bf16_dot) {
  switch (isa) {
    case Isa::kScalar: return ScalarKernels();
    case Isa::kAvx2: return Avx2Kernels();
    case Isa::kAvx512: return bf16_dot ? Avx512Bf16DotKernels() : Avx512Kernels();
    case Isa::kAmx: return AmxKernels();
  }
  KVS_CHECK(false) << "unknown Isa";
  return ScalarKernels();
}

}  // namespace kvs::cpu
