#include "loadgen/openai_chunk.h"

#include <nlohmann/json.hpp>

namespace kvs::loadgen {
namespace {

using nlohmann::json;

int IntField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_number()) ? it->get<int>() : 0;
}

ChunkUsage UsageFrom(const json& u) {
  ChunkUsage usage;
  usage.prompt_tokens = IntField(u, "prompt_tokens");
  usage.completion_tokens = IntField(u, "completion_tokens");
  auto details = u.find("prompt_tokens_details");
  if (details != u.end() && details->is_object()) {
    usage.cached_tokens = IntField(*details, "cached_tokens");
  }
  return usage;
}

}  // namespace

StatusOr<OpenAiChunk> ParseOpenAiChunk(std::string_view data) {
  OpenAiChunk chunk;
  if (data == "[DONE]") {
    chunk.done = true;
    return chunk;
  }
  // Parse without exceptions: the json library reports failure as discarded.
  json j = json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return DataLossError("SSE data is not a JSON object: " + std::string(data.substr(0, 120)));
  }
  if (auto err = j.find("error"); err != j.end()) {
    if (err->is_object() && err->contains("message") && (*err)["message"].is_string()) {
      chunk.error = (*err)["message"].get<std::string>();
    } else {
      chunk.error = err->dump();
    }
    return chunk;
  }
  if (auto choices = j.find("choices"); choices != j.end() && choices->is_array() &&
                                        !choices->empty()) {
    const json& c0 = (*choices)[0];
    if (auto delta = c0.find("delta"); delta != c0.end() && delta->is_object()) {
      auto content = delta->find("content");
      if (content != delta->end() && content->is_string()) chunk.content = content->get<std::string>();
    } else if (auto text = c0.find("text"); text != c0.end() && text->is_string()) {
      chunk.content = text->get<std::string>();
    }
    auto fr = c0.find("finish_reason");
    if (fr != c0.end() && fr->is_string()) chunk.finish_reason = fr->get<std::string>();
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) chunk.usage = UsageFrom(*u);
  return chunk;
}

ChunkUsage ParseUsageJson(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return {};
  return UsageFrom(j);
}

}  // namespace kvs::loadgen
