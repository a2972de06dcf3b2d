// KvStorage in every KV dtype: the values StoreKv writes (on every
// backend and instruction-set path) read back, through the pool's block
// accessors, as the dtype's rounding of the f32 values, computed here
// independently of tensor/quant: F16 by picking the nearest of every finite
// half (ties to even), BF16 by picking the nearer of the two neighbouring
// bfloat16 values (ties to even), Q8_0 as its definition says (d = f16(max|x| / 127) per 32 values,
// q = round(x / d) as x * (1 / d), to nearest even, within +-127).
#include "backend/kv_storage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/reference/reference_backend.h"

namespace kvs {
namespace {

// IEEE half from its fields: sign, 5-bit exponent (bias 15), 10-bit fraction.
float HalfBitsToFloat(uint16_t h) {
  const int exp = (h >> 10) & 0x1F, frac = h & 0x3FF;
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  if (exp == 0x1F) return frac ? NAN : sign * INFINITY;
  if (exp == 0) return sign * std::ldexp(float(frac), -24);  // subnormal
  return sign * std::ldexp(float(frac | 0x400), exp - 25);
}

// The nearest half to x (ties to the even fraction), found among every finite
// positive half in order; beyond the largest (65504), from 65520 on, infinity.
float RoundF16(float x) {
  static const std::vector<float> halves = [] {
    std::vector<float> v;
    for (uint16_t h = 0; h < 0x7C00; ++h) v.push_back(HalfBitsToFloat(h));
    return v;
  }();
  const float a = std::fabs(x);
  if (!(a < 65520.0f)) return std::copysign(a == a ? INFINITY : NAN, x);
  const size_t hi = std::lower_bound(halves.begin(), halves.end(), a) - halves.begin();
  if (hi < halves.size() && halves[hi] == a) return x;
  const size_t lo = hi - 1;  // a > 0 here, and halves[0] == 0
  if (hi == halves.size()) return std::copysign(halves[lo], x);
  const double dlo = double(a) - halves[lo], dhi = double(halves[hi]) - a;
  const size_t pick = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
  return std::copysign(halves[pick], x);
}

float BitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float RoundBF16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;  // toward zero, away from zero
  const double dlo = std::fabs(double(x) - BitsToFloat(lo));
  const double dhi = std::fabs(double(BitsToFloat(hi)) - x);
  if (dlo < dhi) return BitsToFloat(lo);
  if (dhi < dlo) return BitsToFloat(hi);
  return BitsToFloat(((lo >> 16) & 1) == 0 ? lo : hi);
}

// The values a row of n floats holds once rounded to `t`.
std::vector<float> Rounded(DType t, const float* x, int n) {
  std::vector<float> out(x, x + n);
  if (t == DType::kF16) {
    for (float& v : out) v = RoundF16(v);
  } else if (t == DType::kBF16) {
    for (float& v : out) v = RoundBF16(v);
  } else if (t == DType::kQ8_0) {
    for (int b = 0; b < n; b += 32) {
      float amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b + i]));
      const float d = RoundF16(amax / 127.0f);
      const float id = d != 0 ? 1.0f / d : 0.0f;
      for (int i = 0; i < 32; ++i) {
        out[b + i] = d * std::clamp(std::nearbyint(x[b + i] * id), -127.0f, 127.0f);
      }
    }
  }
  return out;
}

// Decodes a row of n values stored as t, by the formats' layouts.
std::vector<float> Decode(DType t, const uint8_t* row, int n) {
  std::vector<float> out(n);
  for (int i = 0; i < n; ++i) {
    uint16_t h;
    switch (t) {
      case DType::kF32:
        std::memcpy(&out[i], row + 4 * i, 4);
        break;
      case DType::kF16:
        std::memcpy(&h, row + 2 * i, 2);
        out[i] = HalfBitsToFloat(h);
        break;
      case DType::kBF16:
        std::memcpy(&h, row + 2 * i, 2);
        out[i] = BitsToFloat(uint32_t{h} << 16);
        break;
      default: {  // Q8_0: [f16 d, int8 q[32]] per 32 values
        const uint8_t* blk = row + (i / 32) * 34;
        std::memcpy(&h, blk, 2);
        out[i] = HalfBitsToFloat(h) * static_cast<int8_t>(blk[2 + i % 32]);
      }
    }
  }
  return out;
}

std::vector<std::unique_ptr<Backend>> AllBackends() {
  std::vector<std::unique_ptr<Backend>> out;
  out.push_back(std::make_unique<ReferenceBackend>());
  for (cpu::Isa isa : {cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512}) {
    if (!cpu::IsaSupported(isa)) continue;
    CpuBackendOptions o;
    o.isa = isa;
    o.n_threads = 1;
    out.push_back(std::move(CpuBackend::Create(o)).value());
  }
  return out;
}

TEST(KvStorageTest, StoredValuesReadBackAsTheDTypesRounding) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  const int n_layers = 3, n_blocks = 6, block_size = 4, kv_dim = 96;
  for (auto& backend : AllBackends()) {
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0}) {
      SCOPED_TRACE(std::string(backend->name()) + " " + std::string(DTypeName(dtype)));
      auto s = KvStorage::Create(*backend, n_layers, n_blocks, block_size, kv_dim, dtype);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      KvStorage& kv = **s;
      EXPECT_EQ(kv.desc().dtype, dtype);
      EXPECT_EQ(kv.row_bytes(), dtype == DType::kF32    ? 4 * kv_dim
                                : dtype == DType::kQ8_0 ? kv_dim / 32 * 34
                                                        : 2 * kv_dim);
      EXPECT_EQ(kv.block_bytes(), block_size * kv.row_bytes());
      EXPECT_EQ(kv.bytes(), 2 * n_layers * n_blocks * kv.block_bytes());
      // Rows of very different magnitudes, an all-zero Q8_0 block, ties.
      const int n = 5;
      std::vector<float> k(n * kv_dim), v(n * kv_dim);
      for (int i = 0; i < n * kv_dim; ++i) {
        k[i] = dist(rng) * std::pow(10.0f, float(i / kv_dim) - 2);
        v[i] = dist(rng);
      }
      std::fill(k.begin(), k.begin() + 32, 0.0f);
      v[3] = 1.0f + 0x1p-11f;  // halfway between two halves: rounds to even (1.0)
      v[4] = 1.0f + 0x1p-8f;   // halfway between two bfloat16s: rounds to even (1.0)
      const int32_t slots[n] = {0, 5, 9, 23, 14};  // block * 4 + offset
      for (int l = 0; l < n_layers; ++l) {
        backend->StoreKv(k.data(), v.data(), slots, n, kv_dim, dtype, kv.k(l), kv.v(l));
      }
      for (int l = 0; l < n_layers; ++l) {
        for (int t = 0; t < n; ++t) {
          const int block = slots[t] / block_size, offset = slots[t] % block_size;
          const std::span<uint8_t> kb = kv.KBlock(l, block), vb = kv.VBlock(l, block);
          ASSERT_EQ(int64_t(kb.size()), kv.block_bytes());
          EXPECT_EQ(Decode(dtype, kb.data() + offset * kv.row_bytes(), kv_dim),
                    Rounded(dtype, k.data() + t * kv_dim, kv_dim))
              << "K layer " << l << " token " << t;
          EXPECT_EQ(Decode(dtype, vb.data() + offset * kv.row_bytes(), kv_dim),
                    Rounded(dtype, v.data() + t * kv_dim, kv_dim))
              << "V layer " << l << " token " << t;
        }
      }
      // Copy-on-write moves a block's bytes whole.
      backend->CopyBlock(kv.k(1), kv.block_bytes(), 2, 4);
      EXPECT_EQ(0, std::memcmp(kv.KBlock(1, 2).data(), kv.KBlock(1, 4).data(), kv.block_bytes()));
    }
  }
}

TEST(KvStorageTest, RefusesWhatItCannotHold) {
  ReferenceBackend backend;
  EXPECT_FALSE(KvStorage::Create(backend, 2, 4, 16, 64, DType::kQ4_K).ok());
  EXPECT_FALSE(KvStorage::Create(backend, 2, 4, 16, 48, DType::kQ8_0).ok());
  EXPECT_FALSE(KvStorage::Create(backend, 2, 0, 16, 64, DType::kF16).ok());
  EXPECT_TRUE(KvStorage::Create(backend, 2, 4, 16, 48, DType::kF16).ok());
  EXPECT_EQ(KvStorage::BytesPerBlock(2, 16, 64, DType::kQ8_0), 2 * 2 * 16 * 68);
  EXPECT_EQ(KvStorage::BlocksForBytes(2 * 2 * 16 * 68 * 5 + 7, 2, 16, 64, DType::kQ8_0), 5);
  EXPECT_EQ(KvStorage::BlocksForBytes(1 << 20, 2, 16, 48, DType::kQ8_0), 0);
}

}  // namespace
}  // namespace kvs
