// What reading one generation request costs the route before it reaches the
// engine: ParseOpenAiRequest plus ReadOutputGrammar, on a chat body with
// tools and a json_schema response_format (the shape agent clients send),
// from a small body to one near the 1 MiB default limit.
//   build/request_parse_bench
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "server/openai_request.h"
#include "server/structured_output.h"
#include "server/tool_request.h"

namespace kvs::server {
namespace {

std::string Body(int n_messages) {
  nlohmann::ordered_json body;
  body["model"] = "m";
  for (int i = 0; i < n_messages; ++i) {
    body["messages"].push_back(
        {{"role", i % 2 ? "assistant" : "user"},
         {"content", "Turn " + std::to_string(i) + ": " + std::string(400, 'a' + i % 26)}});
  }
  nlohmann::ordered_json params = {
      {"type", "object"},
      {"properties", {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}}}}},
      {"required", {"city"}}};
  for (int t = 0; t < 8; ++t) {
    body["tools"].push_back({{"type", "function"},
                             {"function",
                              {{"name", "tool_" + std::to_string(t)},
                               {"description", "Looks something up."},
                               {"parameters", params}}}});
  }
  body["response_format"] = {
      {"type", "json_schema"},
      {"json_schema", {{"name", "answer"}, {"schema", params}, {"strict", true}}}};
  body["max_tokens"] = 64;
  return body.dump();
}

void BM_ReadGenerationRequest(benchmark::State& state) {
  const std::string body = Body(static_cast<int>(state.range(0)));
  ParseLimits limits;
  for (auto _ : state) {
    nlohmann::ordered_json document;
    auto req = ParseOpenAiRequest(Endpoint::kChat, body, limits, {}, &document);
    auto grammar = ReadOutputGrammar(document);
    benchmark::DoNotOptimize(req);
    benchmark::DoNotOptimize(grammar);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["body_KiB"] = double(body.size()) / 1024.0;
}
BENCHMARK(BM_ReadGenerationRequest)->Arg(4)->Arg(256)->Arg(2000)->Unit(benchmark::kMicrosecond);

// The anchor: the route before it parsed the body once (the text parsed as
// a sorted-key value for the fields, again for the tools' key order, and a
// third time for the output grammar), rebuilt from the same public calls.
void BM_ReadGenerationRequestThreeParses(benchmark::State& state) {
  const std::string body = Body(static_cast<int>(state.range(0)));
  ParseLimits limits;
  for (auto _ : state) {
    auto req = ParseOpenAiRequestJson(Endpoint::kChat, nlohmann::json::parse(body), limits);
    KeepClientKeyOrder(nlohmann::ordered_json::parse(body), &req.value());
    auto grammar = ReadOutputGrammar(nlohmann::ordered_json::parse(body));
    benchmark::DoNotOptimize(req);
    benchmark::DoNotOptimize(grammar);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_ReadGenerationRequestThreeParses)->Arg(4)->Arg(256)->Arg(2000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvs::server

BENCHMARK_MAIN();
