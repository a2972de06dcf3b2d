#include "io/hf_tokenizer.h"

#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kvs {
namespace {

using Json = nlohmann::json;

// GGUF token types (llama.cpp's llama_token_type).
constexpr int32_t kNormal = 1;
constexpr int32_t kUnused = 5;
constexpr int32_t kControl = 3;
constexpr int32_t kUserDefined = 4;

// The Split regexes of the pre-tokenizers kvserve knows, by their GGUF name.
struct KnownSplit {
  const char* pre;
  const char* regex;
};
constexpr KnownSplit kKnownSplits[] = {
    {"llama-bpe",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
};

// A member of an object, or `fallback`: a reference into the document, not
// the copy nlohmann's value() returns (the vocabulary and merges are
// megabytes, and were copied whole on every load).
const Json& MemberOr(const Json& j, const char* key, const Json& fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  return it == j.end() ? fallback : *it;
}

std::string TypeOf(const Json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : "";
}

// tokenizer.json's "normalizer": none, or NFC; anything else is named.
StatusOr<std::string> NormalizerName(const Json& normalizer) {
  if (normalizer.is_null()) return std::string();
  const std::string type = TypeOf(normalizer);
  if (type == "NFC") return type;
  if (type == "Sequence" && normalizer.contains("normalizers") &&
      normalizer["normalizers"].is_array() && normalizer["normalizers"].empty()) {
    return std::string();
  }
  return UnimplementedError("tokenizer.json: normalizer '" + type +
                            "' is not supported (none or NFC)");
}

// The pre-tokenizer's GGUF name, or an error naming what was found.
StatusOr<std::string> PreName(const Json& pre) {
  const std::string type = TypeOf(pre);
  std::vector<Json> steps;
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const Json& s : pre["pretokenizers"]) steps.push_back(s);
  } else if (!type.empty()) {
    steps.push_back(pre);
  }
  auto byte_level = [](const Json& s, bool use_regex) {
    return TypeOf(s) == "ByteLevel" && s.value("use_regex", true) == use_regex;
  };
  // Split(regex) + ByteLevel(no regex): the regex names it.
  if (steps.size() == 2 && TypeOf(steps[0]) == "Split" && byte_level(steps[1], false)) {
    const Json& pattern = steps[0].value("pattern", Json::object());
    const std::string regex = pattern.is_object() ? pattern.value("Regex", "") : "";
    for (const KnownSplit& k : kKnownSplits) {
      if (regex == k.regex) return std::string(k.pre);
    }
    return InvalidArgumentError("tokenizer.json: pre-tokenizer Split regex '" + regex.substr(0, 120) +
                                "' is not one kvserve knows (Llama 3's, Qwen2's)");
  }
  // ByteLevel with GPT-2's regex, after single-digit splitting: SmolLM.
  if (steps.size() == 2 && TypeOf(steps[0]) == "Digits" &&
      steps[0].value("individual_digits", false) && byte_level(steps[1], true)) {
    return std::string("smollm");
  }
  if (steps.size() == 1 && byte_level(steps[0], true)) return std::string("gpt2");
  std::string names;
  for (const Json& s : steps) names += (names.empty() ? "" : ", ") + TypeOf(s);
  return InvalidArgumentError("tokenizer.json: pre-tokenizer [" + names +
                              "] is not supported (byte-level BPE: Llama 3, Qwen2/3, SmolLM, GPT-2)");
}

// A special token's text: a string, or {"content": ...}; nullopt if absent.
std::optional<std::string> TokenText(const Json* config, const char* key) {
  if (config == nullptr || !config->contains(key)) return std::nullopt;
  const Json& v = (*config)[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return std::nullopt;
}

// llama.cpp's converter treats these as control tokens even when the
// tokenizer does not mark them special.
bool LooksSpecial(const std::string& t) {
  auto wrapped = [&](const char* open, const char* close) {
    const std::string o(open), c(close);
    return t.size() >= o.size() + c.size() && t.compare(0, o.size(), o) == 0 &&
           t.compare(t.size() - c.size(), c.size(), c) == 0;
  };
  return wrapped("<|", "|>") || wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || t == "<pad>" ||
         t == "<mask>" || t == "<2mass>" || t == "[@BOS@]";
}

}  // namespace

std::optional<std::string> ChatTemplateFromConfig(const Json& tokenizer_config) {
  const auto it = tokenizer_config.find("chat_template");
  if (it == tokenizer_config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    for (const Json& e : *it) {
      if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
          e["template"].is_string()) {
        return e["template"].get<std::string>();
      }
    }
  }
  return std::nullopt;
}

namespace {

StatusOr<int> AddMetadata(const Json& tokenizer, const Json* tokenizer_config,
                          const Json* generation_config, int n_vocab, GgufWriter* w) {
  const Json no_object = Json::object(), no_array = Json::array(), null;
  const Json& model = MemberOr(tokenizer, "model", no_object);
  const std::string model_type = TypeOf(model);
  if (model_type != "BPE") {
    return InvalidArgumentError("tokenizer.json: model type '" + model_type +
                                "' is not supported (BPE only)");
  }
  const Json& pre_tokenizer = MemberOr(tokenizer, "pre_tokenizer", null);
  if (model.value("byte_fallback", false) || TypeOf(pre_tokenizer) == "Metaspace") {
    return InvalidArgumentError(
        "tokenizer.json: a SentencePiece-style tokenizer (byte_fallback / Metaspace) is not "
        "supported from tokenizer.json; use a GGUF file");
  }
  KVS_ASSIGN_OR_RETURN(const std::string pre, PreName(pre_tokenizer));

  // Tokens by id: the model's vocab, then the added tokens (an added token
  // given a vocab entry's id replaces it). The texts point into `tokenizer`;
  // a sorted vector, since maps of 150k strings were most of a folder's load.
  std::vector<std::pair<int64_t, const std::string*>> by_id;
  const Json& vocab = MemberOr(model, "vocab", no_object);
  if (!vocab.is_object() || vocab.empty()) return InvalidArgumentError("tokenizer.json: no model.vocab");
  by_id.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const Json& id = it.value();
    if (!id.is_number_unsigned() || id.get<uint64_t>() >= (1u << 24)) {
      return InvalidArgumentError("tokenizer.json: vocab entry '" + it.key().substr(0, 40) +
                                  "' has a bad id");
    }
    by_id.emplace_back(id.get<int64_t>(), &it.key());
  }
  std::map<int64_t, int32_t> added_type;
  const Json& added = MemberOr(tokenizer, "added_tokens", no_array);
  for (const Json& a : added.is_array() ? added : no_array) {  // both lvalues: no copy
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() ||
        a["id"].get<uint64_t>() >= (1u << 24) || !a.contains("content") || !a["content"].is_string()) {
      return InvalidArgumentError("tokenizer.json: an added_tokens entry lacks an id or content");
    }
    const int64_t id = a["id"].get<int64_t>();
    const std::string& text = a["content"].get_ref<const std::string&>();
    by_id.emplace_back(id, &text);
    added_type[id] = a.value("special", false) || LooksSpecial(text) ? kControl : kUserDefined;
  }
  std::stable_sort(by_id.begin(), by_id.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  const int64_t own = by_id.back().first + 1;
  const int64_t n = n_vocab > 0 ? n_vocab : own;
  if (own > n) {
    return InvalidArgumentError("tokenizer.json has ids up to " + std::to_string(own - 1) +
                                " but the model's vocab_size is " + std::to_string(n));
  }
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, kNormal);
  size_t next = 0;  // by_id[next] is the first entry with an id >= i
  for (int64_t i = 0; i < n; ++i) {
    const std::string* text = nullptr;
    while (next < by_id.size() && by_id[next].first == i) text = by_id[next++].second;  // last wins
    if (text == nullptr) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = kUnused;
      continue;
    }
    tokens[i] = *text;
    auto t = added_type.find(i);
    if (t != added_type.end()) types[i] = t->second;
  }

  std::vector<std::string> merges;
  const Json& m = MemberOr(model, "merges", no_array);
  if (m.is_array()) merges.reserve(m.size());
  for (const Json& e : m.is_array() ? m : no_array) {
    if (e.is_string()) {
      merges.push_back(e.get<std::string>());
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      merges.push_back(e[0].get<std::string>() + " " + e[1].get<std::string>());
    } else {
      return InvalidArgumentError("tokenizer.json: a merge is neither \"a b\" nor [a, b]");
    }
  }

  w->SetString("tokenizer.ggml.model", "gpt2");
  w->SetString("tokenizer.ggml.pre", pre);
  w->SetStringArray("tokenizer.ggml.tokens", tokens);
  w->SetScalarArray("tokenizer.ggml.token_type", GgufType::kI32, types.data(), types.size());
  w->SetStringArray("tokenizer.ggml.merges", merges);

  // BOS/EOS: tokenizer_config.json names them; else the post-processor's
  // template (a special token before $A is BOS) and generation_config.json.
  // The lowest id with that text (a handful of lookups: a scan, no index).
  auto id_for = [&](const std::optional<std::string>& text) -> std::optional<int32_t> {
    if (!text) return std::nullopt;
    for (int64_t i = 0; i < n; ++i) {
      if (types[i] != kUnused && tokens[i] == *text) return static_cast<int32_t>(i);
    }
    return std::nullopt;
  };
  std::optional<int32_t> bos = id_for(TokenText(tokenizer_config, "bos_token"));
  std::optional<int32_t> eos = id_for(TokenText(tokenizer_config, "eos_token"));
  std::optional<int32_t> pad = id_for(TokenText(tokenizer_config, "pad_token"));
  bool template_bos = false;
  std::vector<Json> processors;
  const Json& post = MemberOr(tokenizer, "post_processor", null);
  if (TypeOf(post) == "Sequence" && post.contains("processors") && post["processors"].is_array()) {
    for (const Json& p : post["processors"]) processors.push_back(p);
  } else if (!post.is_null()) {
    processors.push_back(post);
  }
  for (const Json& p : processors) {
    if (TypeOf(p) != "TemplateProcessing" || !p.contains("single") || !p["single"].is_array() ||
        p["single"].empty()) {
      continue;
    }
    const Json& first = p["single"][0];
    if (first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].is_object()) {
      const auto id = id_for(first["SpecialToken"].value("id", std::string()));
      if (id) {
        template_bos = true;
        if (!bos) bos = id;
      }
    }
  }
  if (!eos && generation_config != nullptr && generation_config->contains("eos_token_id")) {
    const Json& e = (*generation_config)["eos_token_id"];
    const Json& first = e.is_array() && !e.empty() ? e[0] : e;
    if (first.is_number_unsigned() && first.get<uint64_t>() < static_cast<uint64_t>(n)) {
      eos = static_cast<int32_t>(first.get<uint64_t>());
    }
  }
  if (bos) w->SetU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*bos));
  if (eos) w->SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(*eos));
  if (pad) w->SetU32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(*pad));
  bool add_bos = template_bos;
  if (tokenizer_config != nullptr && tokenizer_config->contains("add_bos_token") &&
      (*tokenizer_config)["add_bos_token"].is_boolean()) {
    add_bos = (*tokenizer_config)["add_bos_token"].get<bool>();
  }
  w->SetBool("tokenizer.ggml.add_bos_token", add_bos && bos.has_value());
  if (tokenizer_config != nullptr && tokenizer_config->contains("add_eos_token") &&
      (*tokenizer_config)["add_eos_token"].is_boolean()) {
    w->SetBool("tokenizer.ggml.add_eos_token", (*tokenizer_config)["add_eos_token"].get<bool>());
  }
  if (tokenizer_config != nullptr) {
    if (auto t = ChatTemplateFromConfig(*tokenizer_config)) w->SetString("tokenizer.chat_template", *t);
  }

  // Hugging Face's semantics, which llama.cpp's keys cannot carry: the
  // normalizer, and the end-of-generation set (generation_config.json's
  // eos_token_id, the eos token, and the added control tokens that
  // llama.cpp's list names; a plain BPE token such as Qwen's "</s>" is text).
  KVS_ASSIGN_OR_RETURN(const std::string normalizer,
                       NormalizerName(MemberOr(tokenizer, "normalizer", null)));
  if (!normalizer.empty()) w->SetString("tokenizer.kvserve.normalizer", normalizer);
  std::vector<int32_t> eog;
  if (eos) eog.push_back(*eos);
  if (generation_config != nullptr && generation_config->contains("eos_token_id")) {
    const Json& e = (*generation_config)["eos_token_id"];
    for (const Json& id : e.is_array() ? e : Json::array({e})) {
      if (id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < n) {
        eog.push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    }
  }
  for (const auto& [id, type] : added_type) {
    if (type == kControl && id < n && IsEndOfGenerationText(tokens[id])) {
      eog.push_back(static_cast<int32_t>(id));
    }
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  if (!eog.empty()) {
    w->SetScalarArray("tokenizer.kvserve.eog_token_ids", GgufType::kI32, eog.data(), eog.size());
  }
  return static_cast<int>(n);
}

}  // namespace

StatusOr<int> AddHfTokenizerMetadata(const Json& tokenizer, const Json* tokenizer_config,
                                     const Json* generation_config, int n_vocab, GgufWriter* w) {
  // The lookups above use nlohmann's typed accessors, which throw on a value
  // of the wrong type ("byte_fallback": "yes"): one error for any of them.
  try {
    return AddMetadata(tokenizer, tokenizer_config, generation_config, n_vocab, w);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("tokenizer.json or tokenizer_config.json: ") + e.what());
  }
}

}  // namespace kvs
