// Rng: xoshiro256** seeded through splitmix64 (Blackman & Vigna), a small
// fast generator whose output is defined bit for bit, so a seeded request
// samples the same tokens on every platform and standard library (unlike
// std::uniform_real_distribution, whose algorithm is unspecified).
//
// A value type; one per sampler; not thread-safe.
#pragma once

#include <cstdint>

namespace kvs {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    // splitmix64 spreads any seed (0 included) over the 256-bit state, which
    // must not be all zero.
    for (uint64_t& s : state_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1): the top 53 bits as a double's mantissa.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace kvs
