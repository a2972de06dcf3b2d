// Part of simd_kernels-inl.h: paged attention and SwiGLU.
#pragma once
#ifndef KVS_SIMD_NS
#error "include backend/cpu/simd_kernels-inl.h, not this part"
#endif

#include "backend/cpu/simd_vec-inl.h"

namespace kvs::cpu::KVS_SIMD_NS {
namespace {

// ---------------------------------------------------------------- attention

inline float DotF(const float* a, const float* b, int n) {
  VF acc = VZero();
  int j = 0;
  for (; j + kW <= n; j += kW) acc = VFma(VLoad(a + j), VLoad(b + j), acc);
  if (j < n) acc = VFma(VLoadN(a + j, n - j), VLoadN(b + j, n - j), acc);
  return VHsum(acc);
}

// y[n] += w * x[n]
inline void Axpy(float* y, float w, const float* x, int n) {
  const VF wv = VSet1(w);
  int j = 0;
  for (; j + kW <= n; j += kW) VStore(y + j, VFma(wv, VLoad(x + j), VLoad(y + j)));
  if (j < n) VStoreN(y + j, VFma(wv, VLoadN(x + j, n - j), VLoadN(y + j, n - j)), n - j);
}

inline void Scale(float* y, float s, int n) {
  const VF sv = VSet1(s);
  int j = 0;
  for (; j + kW <= n; j += kW) VStore(y + j, VMul(sv, VLoad(y + j)));
  if (j < n) VStoreN(y + j, VMul(sv, VLoadN(y + j, n - j)), n - j);
}

// scores[g * kAttnChunk + i] = scale * dot(q[g], krows[i]) for g < group,
// i < np. Each score's arithmetic depends only on its own q and K row.
#if defined(__AVX512F__)
// Sixteen positions at a time: sixteen dot products as vectors, then one
// reduction tree turns them into one vector of sixteen sums (rather than a
// horizontal sum per score).
inline __m512 Hsum16(__m512 (&v)[16]) {
  __m512 a[8], b[4], c[2];
  KVS_UNROLL
  for (int i = 0; i < 8; ++i) {  // 128-bit lanes: v[2i] (2 partial), v[2i+1] (2 partial)
    a[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                         _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
  }
  KVS_UNROLL
  for (int i = 0; i < 4; ++i) {  // lane k: the 4 partial sums of v[4i + k]
    b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xDD));
  }
  KVS_UNROLL
  for (int i = 0; i < 2; ++i) {  // lane k: v[8i+k] (2 partial), v[8i+4+k] (2 partial)
    c[i] = _mm512_add_ps(_mm512_unpacklo_ps(b[2 * i], b[2 * i + 1]),
                         _mm512_unpackhi_ps(b[2 * i], b[2 * i + 1]));
  }
  // Element 4k + j holds the sum of v[4j + k]; put v[m]'s sum at element m.
  const __m512 d = _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], 0x44), _mm512_shuffle_ps(c[0], c[1], 0xEE));
  const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  return _mm512_permutexvar_ps(order, d);
}

template <int HD>
void ScoresFixed(const float* q, const float* const* krows, int np, int group, float scale, float* scores) {
  constexpr int kV = HD / 16;
  // Blocks of 16 positions outside, heads inside: a block's K rows (4 KiB
  // at HD 64) stay in L1 while every head of the group reads them. With the
  // heads outside, each head re-read the whole 64-row chunk, whose rows, a
  // KV row apart, fall into a quarter of L1's sets: a chunk's scores took
  // 1.5x as long (in cache; 8 heads of 64).
  for (int i0 = 0; i0 < np; i0 += 16) {
    const int left = np - i0;
    for (int g = 0; g < group; ++g) {
      __m512 v[16];
      KVS_UNROLL
      for (int i = 0; i < 16; ++i) {
        v[i] = _mm512_setzero_ps();
        if (i < left) {
          KVS_UNROLL
          for (int j = 0; j < kV; ++j) {
            const __m512 qj = _mm512_loadu_ps(q + g * HD + 16 * j);
            v[i] = _mm512_fmadd_ps(qj, _mm512_loadu_ps(krows[i0 + i] + 16 * j), v[i]);
          }
        }
      }
      const __m512 s = _mm512_mul_ps(Hsum16(v), _mm512_set1_ps(scale));
      _mm512_mask_storeu_ps(scores + g * kAttnChunk + i0, left >= 16 ? 0xFFFF : (1u << left) - 1, s);
    }
  }
}
#endif

inline void Scores(const float* q, const float* const* krows, int np, int group, int hd, float scale,
                   float* scores) {
#if defined(__AVX512F__)
  if (hd == 64) return ScoresFixed<64>(q, krows, np, group, scale, scores);
  if (hd == 128) return ScoresFixed<128>(q, krows, np, group, scale, scores);
#endif
  for (int i = 0; i < np; ++i) {
    for (int g = 0; g < group; ++g) scores[g * kAttnChunk + i] = DotF(q + g * hd, krows[i], hd) * scale;
  }
}

// acc[g] += sum_i scores[g * kAttnChunk + i] * vrows[i], for g < group,
// positions in order. HD fixed: a pass keeps as many heads' accumulators
// in registers as fit in kAccRegs (each V row is read once per pass, from
// L1) instead of a load, FMA and store of acc per position.
#if defined(__AVX512F__)
constexpr int kAccRegs = 16;
#else
constexpr int kAccRegs = 8;
#endif
template <int HD>
void AccumulateFixed(const float* scores, const float* const* vrows, int np, int group, float* acc) {
  constexpr int kV = HD / kW;
  constexpr int kHeads = kAccRegs / kV;
  static_assert(kHeads >= 1);
  for (int g0 = 0; g0 < group; g0 += kHeads) {
    const int nh = group - g0 < kHeads ? group - g0 : kHeads;
    VF r[kHeads][kV];
    KVS_UNROLL
    for (int h = 0; h < kHeads; ++h)
      KVS_UNROLL
      for (int j = 0; j < kV; ++j) r[h][j] = h < nh ? VLoad(acc + (g0 + h) * HD + kW * j) : VZero();
    for (int i = 0; i < np; ++i) {
      VF v[kV];
      KVS_UNROLL
      for (int j = 0; j < kV; ++j) v[j] = VLoad(vrows[i] + kW * j);
      KVS_UNROLL
      for (int h = 0; h < kHeads; ++h) {
        if (h >= nh) break;
        const VF w = VSet1(scores[(g0 + h) * kAttnChunk + i]);
        KVS_UNROLL
        for (int j = 0; j < kV; ++j) r[h][j] = VFma(w, v[j], r[h][j]);
      }
    }
    for (int h = 0; h < nh; ++h)
      KVS_UNROLL
      for (int j = 0; j < kV; ++j) VStore(acc + (g0 + h) * HD + kW * j, r[h][j]);
  }
}

inline void AccumulateValues(const float* scores, const float* const* vrows, int np, int group, int hd,
                             float* acc) {
  if (hd == 64) return AccumulateFixed<64>(scores, vrows, np, group, acc);
  if constexpr (128 / kW <= kAccRegs) {
    if (hd == 128) return AccumulateFixed<128>(scores, vrows, np, group, acc);
  }
  for (int i = 0; i < np; ++i) {
    for (int g = 0; g < group; ++g) Axpy(acc + g * hd, scores[g * kAttnChunk + i], vrows[i], hd);
  }
}

// How attention reads a cache row's head: Offset(e) is the byte offset in
// a row of the storage unit (value or block) holding value e; Decode(start,
// e0, hd, out) writes the hd values of the head that begins at value e0
// (stored from start = row + Offset(e0)) as float. F32 caches are read in
// place.
struct KvF32 {
  static constexpr bool kInPlace = true;
  static int64_t Offset(int64_t e) { return 4 * e; }
  static void Decode(const uint8_t*, int64_t, int, float*) {}
};

struct KvF16 {
  static constexpr bool kInPlace = false;
  static int64_t Offset(int64_t e) { return 2 * e; }
  static void Decode(const uint8_t* h, int64_t, int hd, float* out) {
    const auto* p = reinterpret_cast<const uint16_t*>(h);
    int j = 0;
    for (; j + kW <= hd; j += kW) VStore(out + j, VLoadF16(p + j));
    if (j < hd) VStoreN(out + j, VLoadF16N(p + j, hd - j), hd - j);
  }
};

struct KvBF16 {
  static constexpr bool kInPlace = false;
  static int64_t Offset(int64_t e) { return 2 * e; }
  static void Decode(const uint8_t* h, int64_t, int hd, float* out) {
    const auto* p = reinterpret_cast<const uint16_t*>(h);
    int j = 0;
    for (; j + kW <= hd; j += kW) VStore(out + j, VLoadBF16(p + j));
    if (j < hd) VStoreN(out + j, VLoadBF16N(p + j, hd - j), hd - j);
  }
};

// Q8_0 blocks run along the whole row, so a head narrower than a block, or
// not starting at one, shares its block's scale: decoded value by value.
// A head of whole blocks (head_dim 32, 64, 128) decodes kW values at a time.
struct KvQ8 {
  static constexpr bool kInPlace = false;
  static int64_t Offset(int64_t e) { return e / kQ8Elems * int64_t{sizeof(WBlockQ8_0)}; }
  static void Decode(const uint8_t* h, int64_t e0, int hd, float* out) {
    const auto* b = reinterpret_cast<const WBlockQ8_0*>(h);
    const int o = static_cast<int>(e0 % kQ8Elems);
    if (o == 0 && hd % kW == 0) {
      for (int j = 0; j < hd; j += kW) {
        const WBlockQ8_0& blk = b[j / kQ8Elems];
        const int8_t* qs = blk.qs + j % kQ8Elems;
#if defined(__AVX512F__)
        const VF f = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Load128(qs)));
#else
        const VF f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs))));
#endif
        VStore(out + j, VMul(f, VSet1(F16(blk.d))));
      }
      return;
    }
    for (int j = 0; j < hd; ++j) {
      const WBlockQ8_0& blk = b[(o + j) / kQ8Elems];
      out[j] = F16(blk.d) * blk.qs[(o + j) % kQ8Elems];
    }
  }
};

template <class C>
void AttentionT(const PagedAttentionArgs& a, int64_t t, int kvh, float* scratch) {
  const int group = a.n_heads / a.n_kv_heads;
  const int hd = a.head_dim;
  const int64_t kv_dim = int64_t{a.n_kv_heads} * hd;
  const int64_t row_bytes = KvRowBytes(a.kv_dtype, kv_dim);
  const int64_t e0 = int64_t{kvh} * hd;  // the head's first value in a row
  float* acc = scratch;                     // [group, hd]
  float* scores = acc + group * hd;         // [group, kAttnChunk]
  float* mx = scores + group * kAttnChunk;  // [group]
  float* sum = mx + group;                  // [group]
  float* kf = sum + group;                  // [kAttnChunk, hd]: decoded K heads
  float* vf = kf + kAttnChunk * hd;         // [kAttnChunk, hd]: decoded V heads
  const float* q = a.q + (t * a.n_heads + int64_t{kvh} * group) * hd;  // [group, hd]
  const int32_t* table = a.block_tables[t];
  for (int g = 0; g < group; ++g) {
    mx[g] = -__builtin_inff();
    sum[g] = 0.0f;
    std::memset(acc + g * hd, 0, hd * sizeof(float));
  }
  // Bytes of one head in the cache, for the prefetches.
  const int64_t head_offset = C::Offset(e0);
  const int64_t head_bytes = C::Offset(e0 + hd) - head_offset;
  // A prefill token attends to the rows that the token before it in the
  // batch (its sequence, one position earlier) has just read: they are in
  // cache, and prefetching them again cost prefill attention about 9%
  // (attention_bench, n = 512, f32, 1 thread). Decode tokens, whose rows
  // come from DRAM, prefetch them.
  const bool prefetch =
      t == 0 || a.block_tables[t] != a.block_tables[t - 1] || a.positions[t] != a.positions[t - 1] + 1;
  const int32_t n_pos = a.positions[t] + 1;
  // Position p0 + i is slot `slot` of block table[block], walked rather
  // than divided out per position.
  int32_t block = 0, slot = 0;
  // A second walk runs a chunk ahead and asks for its rows into L2, so that
  // they come from DRAM while this chunk computes (the per-chunk requests
  // below then mostly hit L2). Without it each chunk waited for its own rows.
  int32_t pf_block = 0, pf_slot = 0, pf_pos = 0;
  auto prefetch_until = [&](int32_t end) {
    for (; pf_pos < end; ++pf_pos) {
      const int64_t row = int64_t{table[pf_block]} * a.block_size + pf_slot;
      if (++pf_slot == a.block_size) {
        pf_slot = 0;
        ++pf_block;
      }
      const uint8_t* kp = a.k_cache + row * row_bytes + head_offset;
      const uint8_t* vp = a.v_cache + row * row_bytes + head_offset;
      for (int64_t j = 0; j < head_bytes || j == 0; j += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(kp + j), _MM_HINT_T1);
        _mm_prefetch(reinterpret_cast<const char*>(vp + j), _MM_HINT_T1);
      }
    }
  };
  for (int32_t p0 = 0; p0 < n_pos; p0 += kAttnChunk) {
    const int np = n_pos - p0 < kAttnChunk ? n_pos - p0 : kAttnChunk;
    if (prefetch) prefetch_until(n_pos - p0 < 2 * kAttnChunk ? n_pos : p0 + 2 * kAttnChunk);
    // The chunk's K and V rows are in DRAM (the layer's weights streamed
    // through the caches since this layer last ran), one short row per
    // position: ask for all of them at once rather than one row's latency
    // per position.
    const uint8_t* kraw[kAttnChunk];
    const uint8_t* vraw[kAttnChunk];
    const float* krows[kAttnChunk];
    const float* vrows[kAttnChunk];
    for (int i = 0; i < np; ++i) {
      const int64_t row = int64_t{table[block]} * a.block_size + slot;
      if (++slot == a.block_size) {
        slot = 0;
        ++block;
      }
      kraw[i] = a.k_cache + row * row_bytes + head_offset;
      vraw[i] = a.v_cache + row * row_bytes + head_offset;
      for (int64_t j = 0; prefetch && (j < head_bytes || j == 0); j += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(kraw[i] + j), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(vraw[i] + j), _MM_HINT_T0);
      }
    }
    // A 16-bit or 8-bit cache is decoded once per chunk into L1, where each
    // query head of the group reads it (8 heads per KV head in Llama 2 /
    // TinyLlama shapes): decoding at every load would repeat the work per
    // head and per accumulator pass.
    for (int i = 0; i < np; ++i) {
      if constexpr (C::kInPlace) {
        krows[i] = reinterpret_cast<const float*>(kraw[i]);
        vrows[i] = reinterpret_cast<const float*>(vraw[i]);
      } else {
        C::Decode(kraw[i], e0, hd, kf + i * hd);
        krows[i] = kf + i * hd;
        vrows[i] = vf + i * hd;
      }
    }
    Scores(q, krows, np, group, hd, a.scale, scores);
    if constexpr (!C::kInPlace) {
      for (int i = 0; i < np; ++i) C::Decode(vraw[i], e0, hd, vf + i * hd);
    }
    // Online softmax: rescale what came before once per chunk.
    for (int g = 0; g < group; ++g) {
      float* sg = scores + g * kAttnChunk;
      VF m = VSet1(mx[g]);
      int i = 0;
      for (; i + kW <= np; i += kW) m = VMax(m, VLoad(sg + i));
      if (i < np) m = VMax(m, VMax(VLoadN(sg + i, np - i), VSet1(mx[g])));
      const float new_max = VHmax(m);
      const float correction = __builtin_expf(mx[g] - new_max);  // 0 on the first chunk
      mx[g] = new_max;
      const VF mv = VSet1(new_max);
      VF s = VZero();
      for (i = 0; i + kW <= np; i += kW) {
        const VF e = VExp(VSub(VLoad(sg + i), mv));
        VStore(sg + i, e);
        s = VAdd(s, e);
      }
      if (i < np) {
        const VF e = VExp(VSub(VLoadN(sg + i, np - i), mv));
        VStoreN(sg + i, e, np - i);
        s = VAdd(s, VLoadN(sg + i, np - i));
      }
      sum[g] = sum[g] * correction + VHsum(s);
      Scale(acc + g * hd, correction, hd);
    }
    AccumulateValues(scores, vrows, np, group, hd, acc);
  }
  for (int g = 0; g < group; ++g) {
    float* o = a.out + (t * a.n_heads + int64_t{kvh} * group + g) * hd;
    const VF inv = VSet1(1.0f / sum[g]);
    int j = 0;
    for (; j + kW <= hd; j += kW) VStore(o + j, VMul(VLoad(acc + g * hd + j), inv));
    if (j < hd) VStoreN(o + j, VMul(VLoadN(acc + g * hd + j, hd - j), inv), hd - j);
  }
}

void Attention(const PagedAttentionArgs& a, int64_t t, int kvh, float* scratch) {
  switch (a.kv_dtype) {
    case DType::kF16: return AttentionT<KvF16>(a, t, kvh, scratch);
    case DType::kBF16: return AttentionT<KvBF16>(a, t, kvh, scratch);
    case DType::kQ8_0: return AttentionT<KvQ8>(a, t, kvh, scratch);
    default: return AttentionT<KvF32>(a, t, kvh, scratch);
  }
}

// ---------------------------------------------------------------- KV store

// One row rounded as QuantizeRow (tensor/quant.h) rounds it; the
// hardware's F16 conversion rounds to nearest even like F32ToF16 (NaN
// payloads aside).
void StoreKvRow(DType dtype, const float* x, int64_t n, uint8_t* out) {
  constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  if (dtype == DType::kF16) {
    auto* o = reinterpret_cast<uint16_t*>(out);
    int64_t i = 0;
    for (; i + kW <= n; i += kW) {
#if defined(__AVX512F__)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i), _mm512_cvtps_ph(VLoad(x + i), kRne));
#else
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i), _mm256_cvtps_ph(VLoad(x + i), kRne));
#endif
    }
    for (; i < n; ++i) o[i] = _cvtss_sh(x[i], kRne);
  } else if (dtype == DType::kBF16) {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, x + i, sizeof u);
      const uint16_t h = (u & 0x7FFFFFFF) > 0x7F800000
                             ? static_cast<uint16_t>((u >> 16) | 0x40)  // quiet NaN
                             : static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
      std::memcpy(out + 2 * i, &h, sizeof h);
    }
  } else if (dtype == DType::kQ8_0) {
    auto* b = reinterpret_cast<WBlockQ8_0*>(out);
    for (int64_t k = 0; k < n / kQ8Elems; ++k, x += kQ8Elems) {
      VF m = VZero();
      KVS_UNROLL
      for (int j = 0; j < kQ8Elems; j += kW) m = VMax(m, VAbs(VLoad(x + j)));
      // The scale as stored (f16), and the quants against it.
      b[k].d = _cvtss_sh(VHmax(m) / 127.0f, kRne);
      const float d = F16(b[k].d);
      const VF id = VSet1(d != 0.0f ? 1.0f / d : 0.0f);
      KVS_UNROLL
      for (int j = 0; j < kQ8Elems; j += kW) {
        VStoreI8(b[k].qs + j, VMin(VMax(VMul(VLoad(x + j), id), VSet1(-127.0f)), VSet1(127.0f)));
      }
    }
  }
}

// ---------------------------------------------------------------- SwiGLU

void SwiGlu(const float* gate, const float* up, int64_t count, float* out) {
  const VF one = VSet1(1.0f);
  int64_t i = 0;
  for (; i + kW <= count; i += kW) {
    const VF g = VLoad(gate + i);
    const VF silu = VMul(g, VDiv(one, VAdd(one, VExp(VSub(VZero(), g)))));
    VStore(out + i, VMul(silu, VLoad(up + i)));
  }
  if (i < count) {
    const int n = static_cast<int>(count - i);
    const VF g = VLoadN(gate + i, n);
    const VF silu = VMul(g, VDiv(one, VAdd(one, VExp(VSub(VZero(), g)))));
    VStoreN(out + i, VMul(silu, VLoadN(up + i, n)), n);
  }
}

}  // namespace
}  // namespace kvs::cpu::KVS_SIMD_NS
