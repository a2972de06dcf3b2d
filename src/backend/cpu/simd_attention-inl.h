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

void Attention(const PagedAttentionArgs& a, int64_t t, int kvh, float* scratch) {
  const int group = a.n_heads / a.n_kv_heads;
  const int hd = a.head_dim;
  const int64_t kv_dim = int64_t{a.n_kv_heads} * hd;
  float* acc = scratch;                     // [group, hd]
  float* scores = acc + group * hd;         // [group, kAttnChunk]
  float* mx = scores + group * kAttnChunk;  // [group]
  float* sum = mx + group;                  // [group]
  const float* q = a.q + (t * a.n_heads + int64_t{kvh} * group) * hd;  // [group, hd]
  const int32_t* table = a.block_tables[t];
  for (int g = 0; g < group; ++g) {
    mx[g] = -__builtin_inff();
    sum[g] = 0.0f;
    std::memset(acc + g * hd, 0, hd * sizeof(float));
  }
  const int32_t n_pos = a.positions[t] + 1;
  for (int32_t p0 = 0; p0 < n_pos; p0 += kAttnChunk) {
    const int np = n_pos - p0 < kAttnChunk ? n_pos - p0 : kAttnChunk;
    // The chunk's K and V rows are in DRAM (the layer's weights streamed
    // through the caches since this layer last ran), one short row per
    // position: ask for all of them at once rather than one row's latency
    // per position.
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t off = (int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size) * kv_dim +
                          int64_t{kvh} * hd;
      for (int j = 0; j < hd; j += 16) {
        _mm_prefetch(reinterpret_cast<const char*>(a.k_cache + off + j), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(a.v_cache + off + j), _MM_HINT_T0);
      }
    }
    // Scores: each K row is loaded once for all the group's query heads.
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      const float* k = a.k_cache + slot * kv_dim + int64_t{kvh} * hd;
      for (int g = 0; g < group; ++g) scores[g * kAttnChunk + i] = DotF(q + g * hd, k, hd) * a.scale;
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
    // Values: each V row is loaded once for all the group's query heads.
    for (int i = 0; i < np; ++i) {
      const int32_t p = p0 + i;
      const int64_t slot = int64_t{table[p / a.block_size]} * a.block_size + p % a.block_size;
      const float* v = a.v_cache + slot * kv_dim + int64_t{kvh} * hd;
      for (int g = 0; g < group; ++g) Axpy(acc + g * hd, scores[g * kAttnChunk + i], v, hd);
    }
  }
  for (int g = 0; g < group; ++g) {
    float* o = a.out + (t * a.n_heads + int64_t{kvh} * group + g) * hd;
    const VF inv = VSet1(1.0f / sum[g]);
    int j = 0;
    for (; j + kW <= hd; j += kW) VStore(o + j, VMul(VLoad(acc + g * hd + j), inv));
    if (j < hd) VStoreN(o + j, VMul(VLoadN(acc + g * hd + j, hd - j), inv), hd - j);
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
