// kvserve batch: offline batch mode. Reads one JSON request per line, runs
// them all through the continuous-batching engine at once, writes one JSON
// result per line in input order, and prints the engine's statistics as one
// JSON line on stderr.
//
// Input line: {"prompt": "...", "max_tokens": N, "temperature": T, "seed": S,
//   "top_k", "top_p", "min_p", "repetition_penalty", "presence_penalty",
//   "frequency_penalty", "stop": "..." | [...], "stop_token_ids": [...],
//   "ignore_eos", "priority", "cache_salt"}; "prompt_token_ids": [...] may
//   replace "prompt" (BOS is then the caller's business).
// Output line: {"text", "token_ids", "prompt_tokens", "cached_tokens",
//   "finish_reason"}, or {"error", "finish_reason": "error"} for a line the
//   engine rejected.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine_loop.h"
#include "model/model.h"
#include "runtime/backend_runner.h"
#include "tools/commands.h"
#include "tools/engine_flags.h"

namespace kvs::tools {
namespace {

using nlohmann::json;

struct BatchOptions {
  std::string model;
  std::string tokenizer;
  std::string input;
  std::string output;
  int max_tokens_default = 64;
  EngineFlags engine;
};

// Turns one input line into a request; throws nlohmann::json exceptions on
// malformed JSON or wrong types (caught by the caller, per line).
StatusOr<GenerationRequest> ParseLine(const std::string& line, const Tokenizer& tok,
                                      int max_tokens_default) {
  const json j = json::parse(line);
  if (!j.is_object()) return InvalidArgumentError("a line must be a JSON object");
  GenerationRequest r;
  if (j.contains("prompt_token_ids")) {
    r.prompt = j.at("prompt_token_ids").get<std::vector<TokenId>>();
  } else if (j.contains("prompt")) {
    r.prompt = tok.Encode(j.at("prompt").get<std::string>(), /*add_bos=*/true);
  } else {
    return InvalidArgumentError("missing \"prompt\"");
  }
  r.stop.max_tokens = j.value("max_tokens", max_tokens_default);
  SamplingParams& s = r.sampling;
  s.temperature = j.value("temperature", 1.0f);
  s.top_k = j.value("top_k", 0);
  s.top_p = j.value("top_p", 1.0f);
  s.min_p = j.value("min_p", 0.0f);
  s.repetition_penalty = j.value("repetition_penalty", 1.0f);
  s.presence_penalty = j.value("presence_penalty", 0.0f);
  s.frequency_penalty = j.value("frequency_penalty", 0.0f);
  if (j.contains("seed") && !j.at("seed").is_null()) {
    s.seed = j.at("seed").get<uint64_t>();
    s.has_seed = true;
  }
  if (s.temperature < 0 || s.top_k < 0 || s.top_p <= 0 || s.top_p > 1 || s.min_p < 0 ||
      s.min_p > 1 || s.repetition_penalty <= 0) {
    return InvalidArgumentError("sampling parameter out of range");
  }
  if (j.contains("stop")) {
    const json& st = j.at("stop");
    if (st.is_string()) {
      r.stop.stop_strings.push_back(st.get<std::string>());
    } else if (!st.is_null()) {
      r.stop.stop_strings = st.get<std::vector<std::string>>();
    }
  }
  if (j.contains("stop_token_ids")) {
    r.stop.stop_token_ids = j.at("stop_token_ids").get<std::vector<TokenId>>();
  }
  r.stop.ignore_eos = j.value("ignore_eos", false);
  r.priority = j.value("priority", 0);
  r.cache_salt = j.value("cache_salt", std::string());
  return r;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "kvserve batch: %s\n", what.c_str());
  return 1;
}

int RunBatch(BatchOptions opt) {
  std::ifstream in(opt.input);
  if (!in) return Fail("cannot open " + opt.input);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  }
  std::ofstream out(opt.output);
  if (!out) return Fail("cannot write " + opt.output);

  auto model_or = Model::Load(opt.model, opt.tokenizer);
  if (!model_or.ok()) return Fail(model_or.status().ToString());
  const Model& model = **model_or;
  auto runner_or = BackendRunner::Create(&model, ResolveRunnerConfig(opt.engine, model));
  if (!runner_or.ok()) return Fail(runner_or.status().ToString());
  EngineConfig ec = ResolveEngineConfig(opt.engine);
  ec.max_waiting = std::max<int>(ec.max_waiting, static_cast<int>(lines.size()) + 1);
  auto loop_or = EngineLoop::Create(std::move(runner_or).value(), &model.tokenizer(), ec);
  if (!loop_or.ok()) return Fail(loop_or.status().ToString());
  EngineLoop& loop = **loop_or;

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<OutputStream>> streams(lines.size());
  std::vector<std::string> errors(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    StatusOr<GenerationRequest> req = InvalidArgumentError("unparsed");
    try {
      req = ParseLine(lines[i], model.tokenizer(), opt.max_tokens_default);
    } catch (const json::exception& e) {
      req = InvalidArgumentError(std::string("bad JSON: ") + e.what());
    }
    if (!req.ok()) {
      errors[i] = "line " + std::to_string(i + 1) + ": " + req.status().message();
      continue;
    }
    auto stream = loop.Submit(std::move(req).value());
    if (!stream.ok()) {
      errors[i] = "line " + std::to_string(i + 1) + ": " + stream.status().message();
      continue;
    }
    streams[i] = std::move(stream).value();
  }
  int n_failed = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    json o;
    if (streams[i] == nullptr) {
      o = {{"error", errors[i]}, {"finish_reason", "error"}};
      ++n_failed;
    } else {
      StreamDelta d = streams[i]->WaitAll();
      o = {{"text", d.text},
           {"token_ids", d.tokens},
           {"prompt_tokens", d.prompt_tokens},
           {"cached_tokens", d.cached_tokens},
           {"finish_reason", FinishReasonName(d.finish_reason)}};
      if (!d.error.ok()) {
        o["error"] = d.error.ToString();
        ++n_failed;
      }
    }
    // Invalid UTF-8 (a byte-level model's stray bytes) becomes U+FFFD.
    out << o.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  loop.Shutdown();  // joins the thread: the stats below are final
  const EngineStats st = loop.Stats();
  const json stats = {{"requests", lines.size()},
                      {"failed", n_failed},
                      {"prompt_tokens", st.prompt_tokens},
                      {"generated_tokens", st.generated_tokens},
                      {"prefix_cache_queried_tokens", st.prefix_cache_queried_tokens},
                      {"prefix_cache_hit_tokens", st.prefix_cache_hit_tokens},
                      {"preemptions", st.preemptions},
                      {"peak_kv_blocks_used", st.peak_kv_blocks_used},
                      {"kv_blocks_used", st.kv_blocks_used},
                      {"kv_blocks_total", st.kv_blocks_total},
                      {"steps", st.steps},
                      {"elapsed_s", elapsed},
                      {"output_tokens_per_s", st.generated_tokens / std::max(elapsed, 1e-9)}};
  std::fprintf(stderr, "%s\n", stats.dump().c_str());
  out.flush();
  if (!out) return Fail("write error on " + opt.output);
  return n_failed == 0 ? 0 : 1;
}

}  // namespace

int RunBatch(int argc, char** argv) {
  BatchOptions opt;
  CLI::App app{"Offline batch mode: JSONL requests in, JSONL results out (input order)",
               "kvserve batch"};
  app.add_option("-m,--model", opt.model, "model file (GGUF or llama2.c .bin)")->required();
  app.add_option("--tokenizer", opt.tokenizer, "tokenizer file (llama2.c format)");
  app.add_option("--input", opt.input, "requests, one JSON object per line")->required();
  app.add_option("--output", opt.output, "results, one JSON object per line")->required();
  app.add_option("--max-tokens", opt.max_tokens_default, "default max_tokens of a line")
      ->check(CLI::Range(1, 1 << 20));
  AddEngineFlags(&app, &opt.engine);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return RunBatch(opt);
  } catch (const std::exception& e) {  // a library that throws, caught at the edge
    return Fail(e.what());
  }
}

}  // namespace kvs::tools
