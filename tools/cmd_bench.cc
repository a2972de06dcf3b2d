// kvserve bench: prompt-processing and generation speed, like llama-bench.
//
// pp: a prompt of -p tokens through the forward pass in batches of
// --ubatch tokens, from an empty cache. tg: -n single-token decode steps
// from an empty cache (as llama-bench's tg test). With -d N both start at
// depth N instead, as llama-bench -d: N random tokens are prefilled (not
// timed) once, and every pp and tg run reads them and writes after them.
// --kv-cache-dtype picks what the cache holds (as llama-bench -ctk/-ctv). --batch B adds a batched
// decode test: B sequences decoding together, one token each per step, so
// every step reads the weights once for all B; with -d N each of them holds
// N tokens first (as llama-batched-bench -npp N -npl B). Each test runs -r times
// after a warm-up; mean +- sd of tokens/s is printed (or JSON with --json).
//
// The forward pass is DecoderForward on a CpuBackend created here, so that
// --isa can pick the kernel path; the reference backend via --backend.
//
// The decode ceiling: right before and right after each tg run the CPU
// backend measures the read bandwidth its threads reach over 1 GiB
// (CpuBackend::MeasureReadBandwidth, best of 4 passes, the better of two
// read patterns: see the buffers below). Bytes read per decoded token over
// that bandwidth is the fastest decode could be, and tg is reported as a
// fraction of it two ways:
// - paired: each tg run against the better of the two samples on either
//   side of it, averaged over the runs;
// - best: the mean tg against the best sample of all the runs.
// The samples sit next to the tg runs because a shared machine's read
// bandwidth moves by 2x within minutes (seen here: 31 to 74 GB/s on 2
// threads), and a ceiling taken in another minute measures the machine,
// not the kernels; when it changes phase between repetitions, "best" sets
// one run's tg against another run's bandwidth, which "paired" does not.
// (Sampling inside a tg run, every 32 steps, was tried: each restart after
// a sample cost 3-20% of tg.)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/create_backend.h"
#include "backend/kv_storage.h"
#include "base/huge_pages.h"
#include "model/model.h"
#include "model/batch.h"
#include "base/check.h"
#include "runtime/backend_runner.h"
#include "tools/commands.h"
#include "tools/engine_flags.h"

namespace kvs::tools {
namespace {

struct BenchOptions {
  std::string model;
  std::string tokenizer;
  int n_prompt = 512;
  int n_gen = 128;
  int n_threads = 0;
  int reps = 3;
  int ubatch = 512;
  int batch = 0;  // sequences in the batched-decode test; 0: skip
  int block_size = 16;
  int depth = 0;  // tokens in the cache before each test (llama-bench -d)
  DType kv_dtype = DType::kF32;
  std::string isa;  // empty: best
  std::string backend = "cpu";
  bool weights_in_place = false;
  bool json = false;
};

constexpr int64_t kReadBufferBytes = int64_t{1} << 30;
constexpr int kReadPasses = 4;

struct Stat {
  double mean = 0, sd = 0;
};

Stat Summarize(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(ss / (v.size() - 1)) : 0.0;
  return s;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Sequences with fixed block tables over one runner's KV pool: sequence s
// owns blocks [s * blocks_per_seq, (s + 1) * blocks_per_seq).
class BenchRig {
 public:
  // Takes the backend; the runner it builds owns it.
  static StatusOr<std::unique_ptr<BenchRig>> Create(const Model* model,
                                                    std::unique_ptr<Backend> backend, int n_seqs,
                                                    int max_tokens, int block_size,
                                                    DType kv_dtype, int context) {
    std::unique_ptr<BenchRig> rig(new BenchRig());
    rig->blocks_per_seq_ = (max_tokens + block_size - 1) / block_size;
    RunnerConfig rc;
    rc.block_size = block_size;
    rc.max_kv_tokens = int64_t{n_seqs} * rig->blocks_per_seq_ * block_size;
    rc.kv_cache_dtype = kv_dtype;
    rc.context_override = context;
    KVS_ASSIGN_OR_RETURN(rig->runner_, BackendRunner::Create(model, std::move(backend), rc));
    rig->tables_.resize(n_seqs);
    for (int s = 0; s < n_seqs; ++s) {
      for (int b = 0; b < rig->blocks_per_seq_; ++b) {
        rig->tables_[s].push_back(s * rig->blocks_per_seq_ + b);
      }
    }
    return rig;
  }

  // Runs tokens [n] of sequence `seq` at positions start.. in one pass.
  void Run(int seq, const std::vector<TokenId>& tokens, int start) {
    batch_.Clear();
    batch_.AddSequence(tokens, start, tables_[seq], /*want_logits=*/true);
    Check(runner_->Run(batch_).status());
  }

  // One decode step for sequences [0, n_seqs): one token each at `pos`.
  void Step(int n_seqs, const std::vector<TokenId>& tokens, int pos) {
    batch_.Clear();
    for (int s = 0; s < n_seqs; ++s) {
      batch_.AddSequence(std::span<const TokenId>(&tokens[s], 1), pos, tables_[s], true);
    }
    Check(runner_->Run(batch_).status());
  }

  Backend& backend() { return runner_->backend(); }
  const KvStorage& kv() const { return runner_->kv_storage(); }

 private:
  BenchRig() = default;
  // The rig sizes every batch to fit, so a failure is a bug.
  static void Check(const Status& s) { KVS_CHECK(s.ok()) << s.ToString(); }

  int blocks_per_seq_ = 0;
  std::unique_ptr<BackendRunner> runner_;
  std::vector<std::vector<BlockId>> tables_;
  Batch batch_;
};

int Bench(const BenchOptions& opt) {
  auto model_or = Model::Load(opt.model, opt.tokenizer);
  if (!model_or.ok()) {
    std::fprintf(stderr, "kvserve bench: %s\n", model_or.status().ToString().c_str());
    return 1;
  }
  const Model& model = **model_or;
  const ModelConfig& hp = model.config();
  std::unique_ptr<Backend> backend;
  CpuBackend* cpu_backend = nullptr;  // backend, when it is the CPU one
  // --isa X is --backend cpu:X; CreateBackend takes serve's names and
  // refuses one it does not know (a bare "--backend cpu:avx2" was once read
  // as "cpu").
  if (!opt.isa.empty() && opt.backend != "cpu") {
    std::fprintf(stderr, "kvserve bench: give --isa or --backend %s, not both\n", opt.backend.c_str());
    return 2;
  }
  {
    auto b = CreateBackend(opt.isa.empty() ? opt.backend : "cpu:" + opt.isa, opt.n_threads, opt.weights_in_place);
    if (!b.ok()) {
      std::fprintf(stderr, "kvserve bench: %s\n", b.status().ToString().c_str());
      return b.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    backend = std::move(b).value();
  }
  cpu_backend = dynamic_cast<CpuBackend*>(backend.get());  // null for the reference
  const int max_tokens = opt.depth + std::max({opt.n_prompt, opt.n_gen + 1, 16});
  // Beyond the model's context only with -d, as llama-bench (whose context
  // is p + n + d): the speed of a step does not depend on what was trained.
  if (max_tokens > hp.context_length && opt.depth == 0) {
    std::fprintf(stderr, "kvserve bench: %d tokens exceed the context of %d\n", max_tokens,
                 hp.context_length);
    return 2;
  }
  const int n_seqs = std::max(1, opt.batch);
  auto rig_or = BenchRig::Create(&model, std::move(backend), n_seqs, max_tokens, opt.block_size,
                                 opt.kv_dtype, std::max(max_tokens, hp.context_length));
  if (!rig_or.ok()) {
    std::fprintf(stderr, "kvserve bench: %s\n", rig_or.status().ToString().c_str());
    return 1;
  }
  BenchRig& rig = **rig_or;
  std::mt19937 rng(42);
  const int id_limit = std::min(hp.n_vocab, 32000);
  auto random_tokens = [&](int n) {
    std::vector<TokenId> t(n);
    for (auto& x : t) x = static_cast<TokenId>(100 + rng() % (id_limit - 100));
    return t;
  };

  // Warm-up: touches every weight page and grows every scratch buffer.
  rig.Run(0, random_tokens(std::min(opt.ubatch, std::max(opt.n_prompt, 1))), 0);
  rig.Run(0, random_tokens(1), 0);
  // The depth every test starts from, filled once (in every sequence of the
  // batched test, each with its own blocks, as llama-batched-bench -npp
  // fills each of its -npl sequences): the tests write only after it, so it
  // stays.
  double depth_s = 0;
  if (opt.depth > 0) {
    const std::vector<TokenId> fill = random_tokens(opt.depth);
    const double t0 = Now();
    for (int s = 0; s < n_seqs; ++s) {
      for (int i = 0; i < opt.depth; i += opt.ubatch) {
        const int n = std::min(opt.ubatch, opt.depth - i);
        rig.Run(s, std::vector<TokenId>(fill.begin() + i, fill.begin() + i + n), i);
      }
    }
    depth_s = Now() - t0;
  }

  // Two read-bandwidth buffers, every page faulted in before timing: a
  // textbook read loop over 4 KiB pages, and the decode kernels' own access
  // pattern (two streams, software prefetch) over huge pages, as the weights
  // are. Which reads faster changes with the machine's phase (each has led
  // by 5-15% here), so a sample is the better of the two.
  std::unique_ptr<uint8_t, decltype(&std::free)> plain_buf(nullptr, &std::free);
  HugePageBuffer kernel_buf;
  if (cpu_backend != nullptr && opt.n_gen > 0) {
    plain_buf.reset(static_cast<uint8_t*>(std::aligned_alloc(4096, kReadBufferBytes)));
    kernel_buf = AllocateHugePages(kReadBufferBytes, /*zero=*/false);
    if (plain_buf == nullptr || kernel_buf == nullptr) {
      std::fprintf(stderr, "kvserve bench: cannot allocate the read-bandwidth buffers\n");
      return 1;
    }
    std::memset(plain_buf.get(), 1, kReadBufferBytes);
    std::memset(kernel_buf.get(), 1, kReadBufferBytes);
  }
  std::vector<double> bw;
  auto sample_bandwidth = [&] {
    if (plain_buf == nullptr) return;
    bw.push_back(std::max(
        cpu_backend->MeasureReadBandwidth(plain_buf.get(), kReadBufferBytes, kReadPasses, false),
        cpu_backend->MeasureReadBandwidth(kernel_buf.get(), kReadBufferBytes, kReadPasses, true)));
  };

  // Bytes one decode step reads: every weight, plus the KV cache up to the
  // step's position (mean over the tg test's positions), in the cache's dtype.
  const double weight_bytes = static_cast<double>(model.weight_bytes());
  const double kv_bytes_per_pos = 2.0 * hp.n_layers * static_cast<double>(rig.kv().row_bytes());
  const double kv_bytes = kv_bytes_per_pos * (opt.depth + opt.n_gen / 2.0);
  std::vector<double> pp, tg, bg;
  std::vector<double> tg_paired;  // per tg run: % of the better sample on either side
  for (int r = 0; r < opt.reps; ++r) {
    if (opt.n_prompt > 0) {
      const std::vector<TokenId> prompt = random_tokens(opt.n_prompt);
      const double t0 = Now();
      for (int i = 0; i < opt.n_prompt; i += opt.ubatch) {
        const int n = std::min(opt.ubatch, opt.n_prompt - i);
        rig.Run(0, std::vector<TokenId>(prompt.begin() + i, prompt.begin() + i + n), opt.depth + i);
      }
      pp.push_back(opt.n_prompt / (Now() - t0));
    }
    if (opt.n_gen > 0) {
      const std::vector<TokenId> gen = random_tokens(opt.n_gen);
      sample_bandwidth();
      const double t0 = Now();
      for (int i = 0; i < opt.n_gen; ++i) rig.Run(0, {gen[i]}, opt.depth + i);
      tg.push_back(opt.n_gen / (Now() - t0));
      sample_bandwidth();
      if (bw.size() >= 2) {
        const double ceiling = std::max(bw[bw.size() - 2], bw.back());
        tg_paired.push_back(100.0 * tg.back() * (weight_bytes + kv_bytes) / (ceiling * 1e9));
      }
    }
    if (opt.batch > 0 && opt.n_gen > 0) {
      const double t0 = Now();
      for (int i = 0; i < opt.n_gen; ++i) {
        rig.Step(opt.batch, random_tokens(opt.batch), opt.depth + i);
      }
      bg.push_back(static_cast<double>(opt.batch) * opt.n_gen / (Now() - t0));
    }
  }
  const Stat spp = Summarize(pp), stg = Summarize(tg), sbg = Summarize(bg);
  const double read_bw = bw.empty() ? 0.0 : *std::max_element(bw.begin(), bw.end());
  const double read_bw_min = bw.empty() ? 0.0 : *std::min_element(bw.begin(), bw.end());
  const double ceiling_pct =
      read_bw > 0 ? 100.0 * stg.mean * (weight_bytes + kv_bytes) / (read_bw * 1e9) : 0.0;
  const double paired_pct = Summarize(tg_paired).mean;
  const std::string be(rig.backend().name());
  const int threads = cpu_backend != nullptr ? cpu_backend->n_threads() : 1;
  if (opt.json) {
    std::printf(
        "{\"model\": \"%s\", \"backend\": \"%s\", \"threads\": %d, \"n_prompt\": %d, \"n_gen\": %d, "
        "\"reps\": %d, \"pp_tps\": %.3f, \"pp_sd\": %.3f, \"tg_tps\": %.3f, \"tg_sd\": %.3f, "
        "\"batch\": %d, \"batched_tps\": %.3f, \"batched_sd\": %.3f, \"weight_bytes\": %.0f, "
        "\"kv_bytes_per_token\": %.0f, \"read_bw_gbs\": %.2f, \"read_bw_min_gbs\": %.2f, "
        "\"read_bw_samples\": %zu, \"tg_ceiling_pct\": %.1f, \"tg_paired_ceiling_pct\": %.1f, "
        "\"depth\": %d, \"kv_dtype\": \"%s\", \"kv_bytes_per_position\": %.0f, \"depth_fill_s\": %.2f}\n",
        opt.model.c_str(), be.c_str(), threads, opt.n_prompt, opt.n_gen, opt.reps, spp.mean, spp.sd,
        stg.mean, stg.sd, opt.batch, sbg.mean, sbg.sd, weight_bytes, kv_bytes, read_bw, read_bw_min,
        bw.size(), ceiling_pct, paired_pct, opt.depth, KvCacheDTypeName(opt.kv_dtype).c_str(),
        kv_bytes_per_pos, depth_s);
    return 0;
  }
  std::printf("model: %s\nbackend: %s, %d threads\n", model.Describe().c_str(), be.c_str(), threads);
  std::printf("KV cache: %s, %.0f bytes per position; depth %d (filled in %.1f s)\n",
              KvCacheDTypeName(opt.kv_dtype).c_str(), kv_bytes_per_pos, opt.depth, depth_s);
  std::printf("| test | tokens/s |\n|---|---|\n");
  const std::string at = opt.depth > 0 ? " @ d" + std::to_string(opt.depth) : "";
  if (opt.n_prompt > 0) {
    std::printf("| pp%d%s | %.2f ± %.2f |\n", opt.n_prompt, at.c_str(), spp.mean, spp.sd);
  }
  if (opt.n_gen > 0) std::printf("| tg%d%s | %.2f ± %.2f |\n", opt.n_gen, at.c_str(), stg.mean, stg.sd);
  if (!bg.empty()) {
    std::printf("| tg%d x %d seqs (aggregate) | %.2f ± %.2f |\n", opt.n_gen, opt.batch, sbg.mean,
                sbg.sd);
  }
  std::printf("read per decoded token: %.3f GB weights + %.4f GB KV (mean over tg)", weight_bytes / 1e9,
              kv_bytes / 1e9);
  if (opt.n_gen > 0) std::printf(" = %.2f GB/s at tg speed", (weight_bytes + kv_bytes) * stg.mean / 1e9);
  std::printf("\n");
  if (read_bw > 0) {
    std::printf("read bandwidth next to the tg runs: %.2f GB/s (best of %zu samples, lowest %.2f), "
                "%d threads: tg at %.0f%% of that ceiling; each tg run against the samples on "
                "either side of it: %.0f%%\n",
                read_bw, bw.size(), read_bw_min, threads, ceiling_pct, paired_pct);
  }
  return 0;
}

}  // namespace

int RunBench(int argc, char** argv) {
  BenchOptions opt;
  CLI::App app{"Prompt-processing and generation speed", "kvserve bench"};
  app.add_option("-m,--model", opt.model, "model file (GGUF or llama2.c .bin)")->required();
  app.add_option("--tokenizer", opt.tokenizer, "tokenizer file (llama2.c format)");
  app.add_option("-p,--n-prompt", opt.n_prompt, "prompt tokens (0: skip)")->check(CLI::Range(0, 1 << 20));
  app.add_option("-n,--n-gen", opt.n_gen, "generated tokens (0: skip)")->check(CLI::Range(0, 1 << 20));
  app.add_option("-t,--threads", opt.n_threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
  app.add_option("-r,--repetitions", opt.reps, "repetitions")->check(CLI::Range(1, 1000));
  app.add_option("-u,--ubatch", opt.ubatch, "prompt tokens per forward pass")->check(CLI::Range(1, 1 << 16));
  app.add_option("-b,--batch", opt.batch, "sequences in the batched-decode test (0: skip)")
      ->check(CLI::Range(0, 4096));
  app.add_option("-d,--n-depth", opt.depth, "tokens already in the KV cache before each test")
      ->check(CLI::Range(0, 1 << 20));
  AddKvCacheDTypeFlag(&app, &opt.kv_dtype);
  app.add_option("--isa", opt.isa,
                 "kernel path: scalar, avx2, avx512, avx512-bf16dot, avx512-bf16bands, amx "
                 "(default: best)");
  app.add_option("--backend", opt.backend,
                 "cpu, cpu:ISA (the same paths as --isa) or reference");
  app.add_flag("--weights-in-place", opt.weights_in_place,
               "read file-layout weights from the file mapping instead of copies (serve's flag)");
  app.add_flag("--json", opt.json, "one JSON object on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return Bench(opt);
}

}  // namespace kvs::tools
