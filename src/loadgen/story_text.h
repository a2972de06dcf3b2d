// StoryText: a seeded generator of simple English in the style of the
// TinyStories corpus (short sentences about children, animals and toys),
// the domain of the stories* models, so that prompts tokenize the way real
// traffic to those models would (no random bytes, no lorem ipsum).
//
// Deterministic: the same seed gives the same text on every platform (only
// std::mt19937_64's raw output is used, never the implementation-defined
// std:: distributions). Thread-safety: none; one generator per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace kvs::loadgen {

class StoryText {
 public:
  explicit StoryText(uint64_t seed) : rng_(seed) {}

  // One sentence, ending in punctuation, no leading/trailing space.
  std::string Sentence();
  // A user-style request: "Tell me a story about ..." and the like.
  std::string Question();
  // Whole sentences joined by spaces until the text is at least `min_chars`
  // long (so at most one sentence longer than that).
  std::string Paragraph(size_t min_chars);
  // Text of about n_tokens tokens at `chars_per_token`, cut at a word
  // boundary to at most that many characters (and at least one word).
  std::string TextOfTokens(int n_tokens, double chars_per_token);

  // Uniform integer in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) { return rng_() % n; }
  // Uniform double in [0, 1).
  double UniformDouble() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller on UniformDouble).
  double Normal();

 private:
  template <size_t N>
  const char* Pick(const char* const (&words)[N]) {
    return words[Uniform(N)];
  }

  std::mt19937_64 rng_;
};

// SplitMix64 step: a well-mixed 64-bit value from a seed and a stream index,
// so that request i's text depends only on (seed, i).
uint64_t MixSeed(uint64_t seed, uint64_t index);

}  // namespace kvs::loadgen
