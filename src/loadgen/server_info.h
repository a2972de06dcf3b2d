// What the load generator asks the server before a run: the served model
// and its context (GET /v1/models, max_model_len), the tokenizer's average
// characters per token for scenario text, and one /metrics scrape.
//
// Thread-safety: free functions, reentrant; each opens its own connection.
#pragma once

#include <string>

#include "base/status.h"
#include "loadgen/endpoint.h"
#include "loadgen/prometheus_text.h"

namespace kvs::loadgen {

struct ModelInfo {
  std::string id;
  int max_model_len = 0;  // 0 when the server does not say
};

StatusOr<ModelInfo> FetchModelInfo(const Endpoint& endpoint);

// Characters per token of `sample` under the server's tokenizer: POST
// /tokenize {"prompt": sample} (vLLM's form) when the server has it, else the
// prompt_tokens of a 1-token /v1/completions request.
StatusOr<double> CalibrateCharsPerToken(const Endpoint& endpoint, const std::string& model,
                                        const std::string& sample);

StatusOr<PrometheusSamples> ScrapeMetrics(const Endpoint& endpoint, double timeout_s = 5);

// Polls GET /v1/models until it answers 200 or `timeout_s` passes; an
// answer other than 200 or 503 (401, say) ends the wait with that error.
Status WaitUntilReady(const Endpoint& endpoint, double timeout_s);

}  // namespace kvs::loadgen
