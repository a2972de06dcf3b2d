// Test-only: FakeModelRunner, a deterministic stand-in for a model, so that
// scheduler and engine tests run without weights.
//
// Each KV slot stores a 64-bit state that chains the state stored at the
// previous position of the same sequence (read back through the block
// table) with the token and its position. The logits at a row are a hash of
// that state with each vocabulary id. So the next token depends on every
// earlier token *as the KV cache holds it*: a wrong block table, a prefix hit
// on the wrong blocks, a missing copy-on-write or a position written by the
// wrong sequence changes the output, which the tests compare with
// GreedyReference (computed with no cache at all).
//
// Not thread-safe (the engine thread is its only caller).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <thread>
#include <string>
#include <vector>

#include "base/status.h"
#include "runtime/model_runner.h"

namespace kvs::testing {

inline uint64_t FakeMix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The state stored for `token` at `pos` after `prev` (never 0: 0 = unwritten).
inline uint64_t FakeState(uint64_t prev, TokenId token, int pos) {
  return FakeMix(prev, uint64_t(uint32_t(token)) * 1000003ULL + uint64_t(pos)) | 1ULL;
}
constexpr uint64_t kFakeRootState = 0x1234567ULL;

inline float FakeLogit(uint64_t state, int v) {
  return float(FakeMix(state, uint64_t(v)) >> 40) / float(1 << 24);  // [0, 1), 24-bit exact
}

// Greedy continuation of `prompt` for n tokens (EOS not special), computed
// directly from the definition above. Ties go to the lowest id, as in Sampler.
inline std::vector<TokenId> GreedyReference(std::span<const TokenId> prompt, int n, int n_vocab) {
  std::vector<TokenId> seq(prompt.begin(), prompt.end());
  uint64_t state = kFakeRootState;
  for (size_t i = 0; i < seq.size(); ++i) state = FakeState(state, seq[i], int(i));
  std::vector<TokenId> out;
  for (int k = 0; k < n; ++k) {
    int best = 0;
    for (int v = 1; v < n_vocab; ++v) {
      if (FakeLogit(state, v) > FakeLogit(state, best)) best = v;
    }
    out.push_back(best);
    seq.push_back(best);
    state = FakeState(state, best, int(seq.size()) - 1);
  }
  return out;
}

class FakeModelRunner final : public ModelRunner {
 public:
  FakeModelRunner(int n_vocab, int block_size, int n_blocks, int max_context)
      : n_vocab_(n_vocab),
        block_size_(block_size),
        n_blocks_(n_blocks),
        max_context_(max_context),
        slots_(size_t(n_blocks) * size_t(block_size), 0) {}

  int vocab_size() const override { return n_vocab_; }
  int block_size() const override { return block_size_; }
  int n_kv_blocks() const override { return n_blocks_; }
  int max_context() const override { return max_context_; }

  void CopyBlocks(std::span<const BlockCopy> copies) override {
    for (const BlockCopy& c : copies) {
      for (int i = 0; i < block_size_; ++i) {
        slots_[size_t(c.dst) * block_size_ + i] = slots_[size_t(c.src) * block_size_ + i];
      }
      ++n_copies_;
    }
  }

  StatusOr<const float*> Run(Batch& batch) override {
    ++n_runs_;
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    if (fail_runs_ > 0) {
      --fail_runs_;
      return InternalError("fake runner: injected failure");
    }
    batch.ComputeSlots(block_size_);
    const int32_t* pos = batch.positions();
    for (int64_t i = 0; i < batch.n_tokens(); ++i) {
      uint64_t prev = kFakeRootState;
      if (pos[i] > 0) {
        const int32_t p = pos[i] - 1;
        prev = slots_[size_t(batch.block_tables()[i][p / block_size_]) * block_size_ +
                      p % block_size_];
        if (prev == 0) return InternalError("fake runner: position read before it was written");
      }
      slots_[size_t(batch.slots()[i])] = FakeState(prev, batch.tokens()[i], pos[i]);
    }
    logits_.resize(size_t(batch.n_logit_rows()) * n_vocab_);
    for (int64_t r = 0; r < batch.n_logit_rows(); ++r) {
      const uint64_t state = slots_[size_t(batch.slots()[batch.logit_rows()[r]])];
      for (int v = 0; v < n_vocab_; ++v) logits_[size_t(r) * n_vocab_ + v] = FakeLogit(state, v);
    }
    // Hidden states: kFakeHidden values per row from the row's state.
    hidden_.resize(size_t(batch.n_hidden_rows()) * kFakeHidden);
    for (int64_t r = 0; r < batch.n_hidden_rows(); ++r) {
      const uint64_t state = slots_[size_t(batch.slots()[batch.hidden_rows()[r]])];
      for (int j = 0; j < kFakeHidden; ++j) hidden_[size_t(r) * kFakeHidden + j] = FakeLogit(state, 1000 + j) - 0.5f;
    }
    tokens_per_run_.push_back(batch.n_tokens());
    return static_cast<const float*>(logits_.data());
  }
  static constexpr int kFakeHidden = 4;
  int hidden_size() const override { return kFakeHidden; }
  const float* hidden_states() const override { return hidden_.data(); }

  // Stores `state` at slot `offset` of `block`, as another engine's KV
  // arriving in this pool would (engine_import_test.cc).
  void WriteSlot(int block, int offset, uint64_t state) {
    slots_[size_t(block) * block_size_ + size_t(offset)] = state;
  }
  // Makes the next n calls of Run fail.
  void FailNextRuns(int n) { fail_runs_ = n; }
  // Makes every Run take at least `d` (for tests that race the engine thread).
  void SetRunDelay(std::chrono::microseconds d) { delay_ = d; }
  int n_runs() const { return n_runs_; }
  int n_copies() const { return n_copies_; }
  const std::vector<int64_t>& tokens_per_run() const { return tokens_per_run_; }

 private:
  const int n_vocab_, block_size_, n_blocks_, max_context_;
  std::vector<uint64_t> slots_;  // [n_blocks * block_size]
  std::vector<float> logits_;    // [n_logit_rows, n_vocab]
  std::vector<float> hidden_;    // [n_hidden_rows, kFakeHidden]
  std::vector<int64_t> tokens_per_run_;
  int n_runs_ = 0, n_copies_ = 0, fail_runs_ = 0;
  std::chrono::microseconds delay_{0};
};

}  // namespace kvs::testing
