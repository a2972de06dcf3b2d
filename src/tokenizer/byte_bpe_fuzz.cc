// libFuzzer target: the byte-level BPE tokenizer on arbitrary bytes, with
// the real Llama 3 and Qwen2 vocabularies (loaded once). Encoding never
// crashes or hangs (PCRE2 on invalid UTF-8, long runs), every id is in the
// vocabulary, decoding gives the bytes back exactly, and the incremental
// detokenizer takes any id stream. First input byte: vocabulary and
// whether special tokens are parsed; the rest is the text.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "io/gguf_reader.h"
#include "io/gguf_vocab.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace {

std::unique_ptr<kvs::Tokenizer> Load(const char* name) {
  auto gguf = kvs::GgufFile::Open(std::string(KVS_SHARED_DIR) + "/models/vocab/ggml-vocab-" +
                                  name + ".gguf");
  KVS_CHECK(gguf.ok()) << gguf.status().ToString();
  auto vocab = kvs::VocabFromGguf(**gguf);
  KVS_CHECK(vocab.ok()) << vocab.status().ToString();
  auto tok = kvs::Tokenizer::Create(*std::move(vocab));
  KVS_CHECK(tok.ok()) << tok.status().ToString();
  return *std::move(tok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<kvs::Tokenizer> kLlama = Load("llama-bpe");
  static const std::unique_ptr<kvs::Tokenizer> kQwen = Load("qwen2");
  if (size == 0) return 0;
  const kvs::Tokenizer& tok = (data[0] & 1) ? *kQwen : *kLlama;
  const bool special = data[0] & 2;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<kvs::TokenId> ids =
      special ? tok.EncodeWithSpecial(text, false) : tok.Encode(text, false);
  for (kvs::TokenId id : ids) KVS_CHECK(id >= 0 && id < tok.n_vocab()) << "id " << id;
  KVS_CHECK(tok.Decode(ids, /*render_special=*/true) == text) << "round trip";
  kvs::IncrementalDetokenizer detok(&tok, -1, {"\n\n"});
  for (kvs::TokenId id : ids) detok.Add(id);
  detok.Flush();
  return 0;
}
