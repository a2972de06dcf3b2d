#include "tools/engine_flags.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "backend/kv_storage.h"

namespace kvs::tools {
namespace {

// Bytes of memory available to new allocations (Linux MemAvailable); 0 if
// unknown.
int64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

}  // namespace

void AddKvCacheDTypeFlag(CLI::App* app, DType* dtype) {
  app->add_option_function<std::string>(
         "--kv-cache-dtype", [dtype](const std::string& s) { *dtype = ParseKvCacheDType(s).value(); },
         "KV cache element type: f32 (default, exact), f16, bf16 (2x the tokens per MiB), q8_0 "
         "(3.76x)")
      ->check(CLI::Validator(
          [](std::string& s) {
            const StatusOr<DType> d = ParseKvCacheDType(s);
            return d.ok() ? std::string() : d.status().message();
          },
          "f32|f16|bf16|q8_0", "KV cache dtype"));
}

void AddEngineFlags(CLI::App* app, EngineFlags* f) {
  AddKvCacheDTypeFlag(app, &f->runner.kv_cache_dtype);
  app->add_option("--kv-cache-mb", f->kv_cache_mb,
                  "KV cache budget in MiB (default: 16 contexts, at most 1/5 of free memory)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app->add_option("--kv-cache-tokens", f->kv_cache_tokens,
                  "KV cache capacity in tokens (overrides --kv-cache-mb)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  app->add_option("--kv-block-size", f->runner.block_size, "tokens per KV block")
      ->check(CLI::Range(1, 1024));
  app->add_option("--max-batched-tokens", f->engine.max_batched_tokens, "token budget per step")
      ->check(CLI::Range(1, 1 << 20));
  app->add_option("--max-running", f->engine.max_running, "requests computed together")
      ->check(CLI::Range(1, 1 << 16));
  app->add_option("--max-waiting", f->engine.max_waiting, "queued requests at most")
      ->check(CLI::Range(1, 1 << 20));
  app->add_flag("--no-prefix-cache,--no-prefix-caching", f->no_prefix_cache,
                "disable the prefix cache");
  app->add_flag("--no-chunked-prefill", f->no_chunked_prefill, "schedule prompts whole");
  app->add_option("-t,--threads", f->runner.n_threads, "compute threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  app->add_option("--backend", f->runner.backend,
                  "cpu, cpu:ISA (scalar, avx2, avx512, avx512-bf16dot, avx512-bf16bands, amx: that "
                  "kernel path) or reference");
  app->add_flag("--weights-in-place", f->runner.weights_in_place,
                "read the weights the kernels take in the file's layout from the file mapping "
                "instead of copying them into huge pages: faster load, pages shared with other "
                "processes, slower decode");
  app->add_option("--prefix-hash", f->prefix_hash,
                  "how prefix-cache blocks are named: native, or sha256_cbor (vLLM's, which a "
                  "KV-aware router recomputes from token ids)")
      ->check(CLI::IsMember({"native", "sha256_cbor"}));
  app->add_option("--prefix-hash-seed", f->engine.prefix_hash_seed,
                  "sha256_cbor's seed for the first block's parent (vLLM: PYTHONHASHSEED, else "
                  "\"vllm-none-hash\")");
}

RunnerConfig ResolveRunnerConfig(const EngineFlags& f, const Model& model) {
  RunnerConfig rc = f.runner;
  if (f.kv_cache_tokens > 0) {
    rc.max_kv_tokens = f.kv_cache_tokens;
    rc.kv_cache_bytes = 0;
  } else if (f.kv_cache_mb > 0) {
    rc.kv_cache_bytes = f.kv_cache_mb << 20;
  } else {
    const ModelConfig& hp = model.config();
    const int64_t per_token =
        KvStorage::BytesPerBlock(hp.n_layers, rc.block_size, model.kv_dim(), rc.kv_cache_dtype) /
        rc.block_size;
    int64_t bytes = 16 * int64_t{hp.context_length} * per_token;
    const int64_t available = AvailableMemoryBytes();
    if (available > 0) bytes = std::min(bytes, available / 5);
    // Never below one full context: a request that fits the model must fit.
    rc.kv_cache_bytes = std::max(bytes, (int64_t{hp.context_length} + rc.block_size) * per_token);
  }
  return rc;
}

EngineConfig ResolveEngineConfig(const EngineFlags& f) {
  EngineConfig ec = f.engine;
  ec.enable_prefix_caching = !f.no_prefix_cache;
  ec.enable_chunked_prefill = !f.no_chunked_prefill;
  ec.prefix_hash =
      f.prefix_hash == "sha256_cbor" ? PrefixHashAlgo::kSha256Cbor : PrefixHashAlgo::kNative;
  return ec;
}

}  // namespace kvs::tools
