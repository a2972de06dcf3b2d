#include "loadgen/server_info.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "loadgen/openai_chunk.h"
#include "loadgen/stream_client.h"

namespace kvs::loadgen {
namespace {

using nlohmann::json;

httplib::Headers AuthHeaders(const Endpoint& ep) {
  httplib::Headers h;
  if (!ep.api_key.empty()) h.emplace("Authorization", "Bearer " + ep.api_key);
  return h;
}

std::unique_ptr<httplib::Client> MakeClient(const Endpoint& ep, double timeout_s) {
  auto c = std::make_unique<httplib::Client>(ep.host, ep.port);
  const auto s = static_cast<time_t>(std::max(1.0, timeout_s));
  c->set_connection_timeout(s, 0);
  c->set_read_timeout(s, 0);
  c->set_write_timeout(s, 0);
  return c;
}

StatusOr<json> PostJson(const Endpoint& ep, const std::string& path, const json& body,
                        double timeout_s) {
  auto c = MakeClient(ep, timeout_s);
  auto res = c->Post(ep.base_path + path, AuthHeaders(ep), body.dump(), "application/json");
  if (!res) return UnavailableError("POST " + path + ": " + httplib::to_string(res.error()));
  if (res->status != 200) {
    return NotFoundError("POST " + path + ": HTTP " + std::to_string(res->status));
  }
  json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DataLossError("POST " + path + ": answer is not JSON");
  return j;
}

}  // namespace

StatusOr<ModelInfo> FetchModelInfo(const Endpoint& ep) {
  auto c = MakeClient(ep, 10);
  auto res = c->Get(ep.base_path + "/v1/models", AuthHeaders(ep));
  if (!res) return UnavailableError("GET /v1/models: " + httplib::to_string(res.error()));
  if (res->status == 503) return UnavailableError("GET /v1/models: HTTP 503 (starting?)");
  if (res->status != 200) {
    // The server is up but refuses us (401: wrong key): waiting will not help.
    return FailedPreconditionError("GET /v1/models: HTTP " + std::to_string(res->status) + " " +
                                   res->body.substr(0, 200));
  }
  json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty()) {
    return DataLossError("GET /v1/models: no data[] in the answer");
  }
  const json& m = j["data"][0];
  ModelInfo info;
  if (m.contains("id") && m["id"].is_string()) info.id = m["id"].get<std::string>();
  // max_model_len is vLLM's field; some servers say context_length.
  for (const char* key : {"max_model_len", "context_length"}) {
    if (m.contains(key) && m[key].is_number_integer()) {
      info.max_model_len = m[key].get<int>();
      break;
    }
  }
  return info;
}

StatusOr<double> CalibrateCharsPerToken(const Endpoint& ep, const std::string& model,
                                        const std::string& sample) {
  if (sample.empty()) return InvalidArgumentError("empty calibration sample");
  int n_tokens = 0;
  // vLLM-style /tokenize; the special tokens would bias a per-character count.
  StatusOr<json> tok =
      PostJson(ep, "/tokenize", {{"prompt", sample}, {"add_special_tokens", false}}, 10);
  if (tok.ok() && tok->contains("tokens") && (*tok)["tokens"].is_array()) {
    n_tokens = static_cast<int>((*tok)["tokens"].size());
  } else if (tok.ok() && tok->contains("count") && (*tok)["count"].is_number_integer()) {
    n_tokens = (*tok)["count"].get<int>();
  } else {
    json body = {{"prompt", sample}, {"max_tokens", 1}, {"temperature", 0}};
    if (!model.empty()) body["model"] = model;
    KVS_ASSIGN_OR_RETURN(json answer, PostJson(ep, "/v1/completions", body, 30));
    if (!answer.contains("usage")) return DataLossError("/v1/completions answered no usage");
    n_tokens = ParseUsageJson(answer["usage"].dump()).prompt_tokens;
  }
  if (n_tokens <= 0) return DataLossError("the server counted no tokens in the sample");
  return static_cast<double>(sample.size()) / n_tokens;
}

StatusOr<PrometheusSamples> ScrapeMetrics(const Endpoint& ep, double timeout_s) {
  auto c = MakeClient(ep, timeout_s);
  auto res = c->Get(ep.base_path + "/metrics", AuthHeaders(ep));
  if (!res) return UnavailableError("GET /metrics: " + httplib::to_string(res.error()));
  if (res->status != 200) return UnavailableError("GET /metrics: HTTP " + std::to_string(res->status));
  return PrometheusSamples::Parse(res->body);
}

Status WaitUntilReady(const Endpoint& ep, double timeout_s) {
  const double deadline = NowSeconds() + timeout_s;
  Status last = UnavailableError("not tried");
  while (NowSeconds() < deadline) {
    StatusOr<ModelInfo> info = FetchModelInfo(ep);
    if (info.ok()) return Status::Ok();
    last = info.status();
    if (last.code() != StatusCode::kUnavailable) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return UnavailableError("server at " + ep.Url() + " not ready after " +
                          std::to_string(timeout_s) + " s: " + last.message());
}

}  // namespace kvs::loadgen
