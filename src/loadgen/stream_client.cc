#include "loadgen/stream_client.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "loadgen/openai_chunk.h"
#include "loadgen/sse_parser.h"

namespace kvs::loadgen {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double RequestResult::TpotMs() const {
  if (output_tokens <= 1) return 0;
  return (e2e_ms - ttft_ms) / (output_tokens - 1);
}

namespace {

std::string RequestBody(const RequestSpec& spec, const StreamOptions& options) {
  nlohmann::json body;
  if (!options.model.empty()) body["model"] = options.model;
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : spec.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  body["messages"] = std::move(messages);
  body["max_tokens"] = spec.max_tokens;
  body["temperature"] = options.temperature;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  if (options.ignore_eos) body["ignore_eos"] = true;
  return body.dump();
}

}  // namespace

RequestResult SendStreaming(const Endpoint& endpoint, const RequestSpec& spec,
                            const StreamOptions& options, double run_start_s) {
  RequestResult r;
  r.tag = spec.tag;
  r.session = spec.session;
  r.turn = spec.turn;

  httplib::Client client(endpoint.host, endpoint.port);
  client.set_connection_timeout(5, 0);
  const auto read_s = static_cast<time_t>(std::max(1.0, options.timeout_s));
  client.set_read_timeout(read_s, 0);
  client.set_write_timeout(read_s, 0);

  httplib::Request req;
  req.method = "POST";
  req.path = endpoint.base_path + "/v1/chat/completions";
  const std::string& key = spec.api_key.empty() ? endpoint.api_key : spec.api_key;
  if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
  req.headers.emplace("Accept", "text/event-stream");
  req.headers.emplace("Content-Type", "application/json");
  req.body = RequestBody(spec, options);

  const double t0 = NowSeconds();
  r.start_s = t0 - run_start_s;
  double last_event = 0;
  bool done = false;
  std::string stream_error;
  std::string raw_error_body;  // body of a non-200 answer
  SseParser parser([&](std::string_view data) {
    const double now = NowSeconds();
    StatusOr<OpenAiChunk> chunk = ParseOpenAiChunk(data);
    if (!chunk.ok()) {
      if (stream_error.empty()) stream_error = chunk.status().message();
      return;
    }
    if (chunk->done) {
      done = true;
      return;
    }
    if (!chunk->error.empty()) {
      if (stream_error.empty()) stream_error = "stream error: " + chunk->error;
      return;
    }
    if (!chunk->content.empty()) {
      if (r.content_events == 0) {
        r.ttft_ms = (now - t0) * 1e3;
      } else {
        r.itl_ms.push_back((now - last_event) * 1e3);
      }
      last_event = now;
      ++r.content_events;
      r.text += chunk->content;
    }
    if (!chunk->finish_reason.empty()) r.finish_reason = chunk->finish_reason;
    if (chunk->usage) {
      r.usage_seen = true;
      r.prompt_tokens = chunk->usage->prompt_tokens;
      r.output_tokens = chunk->usage->completion_tokens;
      r.cached_tokens = chunk->usage->cached_tokens;
    }
  });
  bool timed_out = false;
  req.response_handler = [&](const httplib::Response& res) {
    r.http_status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (r.http_status != 200) {
      if (raw_error_body.size() < 2000) raw_error_body.append(data, std::min<size_t>(n, 2000));
      return true;
    }
    parser.Feed(std::string_view(data, n));
    if (NowSeconds() - t0 > options.timeout_s) {
      timed_out = true;
      return false;  // cancels the transfer
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = client.send(req, res, err);
  const double t_end = NowSeconds();
  r.e2e_ms = (t_end - t0) * 1e3;
  if (res.status != -1 && res.status != 0) r.http_status = res.status;

  if (timed_out) {
    r.error = "timed out after " + std::to_string(options.timeout_s) + " s";
  } else if (!sent) {
    r.error = "transport: " + httplib::to_string(err);
  } else if (r.http_status != 200) {
    r.error = "HTTP " + std::to_string(r.http_status) + ": " + raw_error_body.substr(0, 300);
  } else if (!stream_error.empty()) {
    r.error = stream_error;
  } else if (!done) {
    r.error = "stream ended without [DONE]";
  } else if (r.content_events == 0) {
    r.error = "no content in the stream";
  }
  r.ok = r.error.empty();
  if (!r.usage_seen) r.output_tokens = r.content_events;
  return r;
}

}  // namespace kvs::loadgen
