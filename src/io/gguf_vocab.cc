// Vocab from GGUF metadata. Only reading and type/range checks live here;
// whether the tokenizer can run this vocabulary is Tokenizer::Create's call.
#include "io/gguf_vocab.h"

#include <limits>

namespace kvs {
namespace {

// An optional key: its value when present, `fallback` when absent, an error
// when present with the wrong type.
template <typename T>
StatusOr<T> Optional(const GgufFile& f, std::string_view key, T fallback,
                     StatusOr<T> (GgufFile::*get)(std::string_view) const) {
  if (f.Find(key) == nullptr) return fallback;
  return (f.*get)(key);
}

}  // namespace

StatusOr<Vocab> VocabFromGguf(const GgufFile& f) {
  const std::string where = "GGUF file '" + f.name() + "'";
  Vocab v;
  KVS_ASSIGN_OR_RETURN(v.model, Optional<std::string>(f, "tokenizer.ggml.model", "llama",
                                                      &GgufFile::GetString));
  KVS_ASSIGN_OR_RETURN(v.pieces, f.GetStringArray("tokenizer.ggml.tokens"));
  const size_t n = v.pieces.size();
  if (n == 0) return InvalidArgumentError(where + ": tokenizer.ggml.tokens is empty");
  KVS_ASSIGN_OR_RETURN(v.scores, Optional<std::vector<float>>(f, "tokenizer.ggml.scores",
                                                              std::vector<float>(n, 0.f),
                                                              &GgufFile::GetF32Array));
  KVS_ASSIGN_OR_RETURN(
      std::vector<int32_t> types,
      Optional<std::vector<int32_t>>(f, "tokenizer.ggml.token_type",
                                     std::vector<int32_t>(n, 1), &GgufFile::GetI32Array));
  if (v.scores.size() != n || types.size() != n) {
    return InvalidArgumentError(where + ": " + std::to_string(n) + " tokens but " +
                                std::to_string(v.scores.size()) + " scores and " +
                                std::to_string(types.size()) + " token types");
  }
  v.types.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // 0 is llama.cpp's "undefined"; treat it as a normal piece.
    if (types[i] < 0 || types[i] > 6) {
      return InvalidArgumentError(where + ": token " + std::to_string(i) + " has unknown type " +
                                  std::to_string(types[i]));
    }
    v.types.push_back(types[i] == 0 ? TokenType::kNormal : static_cast<TokenType>(types[i]));
  }
  // `lenient`: an id outside the vocabulary means "none" (converters write
  // -1 as 0xFFFFFFFF for a missing padding token; llama.cpp ignores such ids).
  auto id = [&](std::string_view key, TokenId fallback, TokenId* out,
                bool lenient = false) -> Status {
    if (f.Find(key) == nullptr) {
      *out = fallback;
      return Status::Ok();
    }
    KVS_ASSIGN_OR_RETURN(uint32_t value, f.GetU32(key));
    if (value >= n && lenient) {
      *out = -1;
      return Status::Ok();
    }
    if (value >= n) {
      return InvalidArgumentError(where + ": " + std::string(key) + " = " + std::to_string(value) +
                                  " is not below the vocabulary size " + std::to_string(n));
    }
    *out = static_cast<TokenId>(value);
    return Status::Ok();
  };
  // Defaults for keys a file leaves out, as llama.cpp's loader has them:
  // SentencePiece files mean llama's 1/2/0 and a BOS; byte-level BPE files
  // have no unknown token and a BOS only for the Llama 3 pre-tokenizer. (For
  // a missing gpt2 BOS/EOS llama.cpp guesses id 11; we leave them unset.)
  const bool spm = v.model != "gpt2";
  if (!spm) {
    KVS_ASSIGN_OR_RETURN(v.pre, Optional<std::string>(f, "tokenizer.ggml.pre", "default",
                                                      &GgufFile::GetString));
    KVS_ASSIGN_OR_RETURN(v.merges, Optional<std::vector<std::string>>(
                                       f, "tokenizer.ggml.merges", {}, &GgufFile::GetStringArray));
  }
  KVS_RETURN_IF_ERROR(id("tokenizer.ggml.bos_token_id", spm ? 1 : -1, &v.bos_id));
  KVS_RETURN_IF_ERROR(id("tokenizer.ggml.eos_token_id", spm ? 2 : -1, &v.eos_id));
  KVS_RETURN_IF_ERROR(id("tokenizer.ggml.unknown_token_id", spm ? 0 : -1, &v.unk_id));
  KVS_RETURN_IF_ERROR(id("tokenizer.ggml.eot_token_id", -1, &v.eot_id, /*lenient=*/true));
  KVS_RETURN_IF_ERROR(id("tokenizer.ggml.eom_token_id", -1, &v.eom_id, /*lenient=*/true));
  KVS_RETURN_IF_ERROR(id("tokenizer.ggml.padding_token_id", -1, &v.pad_id, /*lenient=*/true));
  const bool bos_by_default = spm || v.pre == "llama-bpe" || v.pre == "llama3";
  KVS_ASSIGN_OR_RETURN(v.add_bos, Optional<bool>(f, "tokenizer.ggml.add_bos_token",
                                                 bos_by_default, &GgufFile::GetBool));
  KVS_ASSIGN_OR_RETURN(v.add_eos, Optional<bool>(f, "tokenizer.ggml.add_eos_token", false,
                                                 &GgufFile::GetBool));
  KVS_ASSIGN_OR_RETURN(v.add_space_prefix, Optional<bool>(f, "tokenizer.ggml.add_space_prefix",
                                                          spm, &GgufFile::GetBool));
  KVS_ASSIGN_OR_RETURN(v.chat_template, Optional<std::string>(f, "tokenizer.chat_template", "",
                                                              &GgufFile::GetString));
  KVS_ASSIGN_OR_RETURN(v.normalizer, Optional<std::string>(f, "tokenizer.kvserve.normalizer", "",
                                                           &GgufFile::GetString));
  if (!v.normalizer.empty() && v.normalizer != "NFC") {
    return UnimplementedError(where + ": tokenizer.kvserve.normalizer '" + v.normalizer +
                              "' is not supported (NFC only)");
  }
  KVS_ASSIGN_OR_RETURN(std::vector<int32_t> eog, Optional<std::vector<int32_t>>(
                                                     f, "tokenizer.kvserve.eog_token_ids", {},
                                                     &GgufFile::GetI32Array));
  for (int32_t id : eog) {
    if (id < 0 || static_cast<size_t>(id) >= n) {
      return InvalidArgumentError(where + ": tokenizer.kvserve.eog_token_ids has " +
                                  std::to_string(id) + ", outside the vocabulary of " +
                                  std::to_string(n));
    }
    v.eog_ids.push_back(id);
  }
  return v;
}

}  // namespace kvs
