// The engine flags shared by `serve`, `batch` and anything else that runs
// the engine, so that every command spells and defaults them the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "engine/engine_config.h"
#include "model/model.h"
#include "runtime/backend_runner.h"

namespace kvs::tools {

struct EngineFlags {
  RunnerConfig runner;
  EngineConfig engine;
  int64_t kv_cache_mb = 0;      // 0: see ResolveRunnerConfig
  int64_t kv_cache_tokens = 0;  // exact capacity in tokens; wins over kv_cache_mb
  bool no_prefix_cache = false;
  bool no_chunked_prefill = false;
  std::string prefix_hash = "native";  // native or sha256_cbor
};

// --kv-cache-dtype f32|f16|bf16|q8_0 into *dtype (default: as it is, F32);
// a bad name fails the parse with ParseKvCacheDType's message. For every
// command that builds a runner (serve, batch, generate, bench).
void AddKvCacheDTypeFlag(CLI::App* app, DType* dtype);

// --kv-cache-dtype, --kv-cache-mb, --kv-cache-tokens, --kv-block-size, --max-batched-tokens,
// --max-running, --max-waiting, --no-prefix-cache, --no-chunked-prefill,
// -t/--threads, --backend, --prefix-hash, --prefix-hash-seed.
void AddEngineFlags(CLI::App* app, EngineFlags* flags);

// The KV budget: --kv-cache-tokens, else --kv-cache-mb (bytes, so a
// 16-bit cache holds 2x the tokens of F32's and Q8_0 3.76x), else 16 full
// contexts capped at a fifth of the memory available now (MemAvailable), so
// that the default neither starves a busy server nor takes the machine.
RunnerConfig ResolveRunnerConfig(const EngineFlags& flags, const Model& model);
EngineConfig ResolveEngineConfig(const EngineFlags& flags);

}  // namespace kvs::tools
