// StreamClient: sends one streaming chat completion and times it.
//
// Timing: t=0 just before the request is written; time to first token is
// the arrival of the first SSE event with non-empty content; inter-token
// latencies are the gaps between consecutive content events (a chunk that
// carries several tokens counts as one gap, which is what a user sees);
// end-to-end is the arrival of [DONE] or the end of the body. Output tokens
// come from usage (stream_options.include_usage) when the server sends it,
// else from the number of content events.
//
// Thread-safety: SendStreaming is reentrant; each call opens its own
// connection. Bounded: a request is abandoned after `timeout_s` in total.
#pragma once

#include <string>
#include <vector>

#include "loadgen/endpoint.h"
#include "loadgen/scenario.h"

namespace kvs::loadgen {

struct RequestResult {
  bool ok = false;
  std::string error;    // why not ok: transport error, HTTP status + body, stream error
  int http_status = 0;
  std::string tag;      // copied from the RequestSpec
  int64_t session = 0;
  int turn = 0;
  double start_s = 0;   // since the start of the run
  double ttft_ms = 0;
  double e2e_ms = 0;
  std::vector<double> itl_ms;  // [n_content_events - 1]
  int prompt_tokens = 0;
  int output_tokens = 0;
  int cached_tokens = 0;
  int content_events = 0;
  bool usage_seen = false;
  std::string finish_reason;
  std::string text;  // generated text, for tests and multi-turn debugging

  // Time per output token after the first: (e2e - ttft) / (output - 1); 0
  // for a single-token answer.
  double TpotMs() const;
};

struct StreamOptions {
  double timeout_s = 120;   // whole request
  bool ignore_eos = true;   // fixed output lengths, as benchmarks need
  double temperature = 0;   // greedy: reproducible outputs
  std::string model;        // "" sends no model field
};

// `run_start` is the steady-clock origin of the run, for start_s.
RequestResult SendStreaming(const Endpoint& endpoint, const RequestSpec& spec,
                            const StreamOptions& options, double run_start_s);

// Seconds on the steady clock (the origin is arbitrary; only differences count).
double NowSeconds();

}  // namespace kvs::loadgen
