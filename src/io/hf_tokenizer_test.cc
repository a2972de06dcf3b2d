// A Hugging Face tokenizer.json converted to GGUF tokenizer metadata, checked
// against two independent oracles: llama.cpp's own conversion of the same
// vocabulary (ggml-vocab-*.gguf, written by convert_hf_to_gguf.py) and
// Hugging Face's token ids on the 2,400-string corpus of
// tests/data/bpe_corpus (recorded from @huggingface/tokenizers reading the
// very tokenizer.json converted here).
#include "io/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "io/gguf_reader.h"
#include "io/gguf_vocab.h"
#include "io/hf_folder.h"
#include "tokenizer/tokenizer.h"

namespace kvs {
namespace {

using Json = nlohmann::json;

const std::string kVocabDir = std::string(KVS_SHARED_DIR) + "/models/vocab/";
const std::string kCorpusDir = std::string(KVS_SOURCE_DIR) + "/tests/data/bpe_corpus/";

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  KVS_CHECK(f.good()) << "cannot open " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

// The folder's tokenizer as the GGUF metadata we write for it.
std::unique_ptr<GgufFile> Convert(const std::string& folder, int n_vocab) {
  auto tokenizer = ReadJsonFile(kVocabDir + folder + "/tokenizer.json");
  auto config = ReadJsonFile(kVocabDir + folder + "/tokenizer_config.json");
  KVS_CHECK(tokenizer.ok() && config.ok()) << folder;
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  StatusOr<int> n = AddHfTokenizerMetadata(*tokenizer, &*config, nullptr, n_vocab, &w);
  KVS_CHECK(n.ok()) << n.status().ToString();
  auto bytes = w.WriteBuffer([](size_t, TensorSink&) { return Status(); });
  KVS_CHECK(bytes.ok()) << bytes.status().ToString();
  auto file = GgufFile::OpenBuffer(*std::move(bytes), folder);
  KVS_CHECK(file.ok()) << file.status().ToString();
  return *std::move(file);
}

std::unique_ptr<Tokenizer> TokenizerOf(const GgufFile& file) {
  auto vocab = VocabFromGguf(file);
  KVS_CHECK(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(*std::move(vocab));
  KVS_CHECK(tok.ok()) << tok.status().ToString();
  return *std::move(tok);
}

std::unique_ptr<GgufFile> LlamaCppVocab(const std::string& name) {
  auto f = GgufFile::Open(kVocabDir + "ggml-vocab-" + name + ".gguf");
  KVS_CHECK(f.ok()) << f.status().ToString();
  return *std::move(f);
}

// Llama 3.1's tokenizer.json against llama.cpp's Llama 3 vocabulary: the same
// 128,000 BPE tokens and 280,147 merges, in the same order, the same
// pre-tokenizer and BOS. The 256 added tokens differ only where Meta renamed
// reserved tokens between 3 and 3.1 (<|eom_id|>, <|python_tag|>, ...).
TEST(HfTokenizerTest, Llama31AgreesWithLlamaCppsConversion) {
  const auto ours = Convert("hf-llama3.1", 128256);
  const auto theirs = LlamaCppVocab("llama-bpe");
  auto our_tokens = ours->GetStringArray("tokenizer.ggml.tokens");
  auto their_tokens = theirs->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(our_tokens.ok() && their_tokens.ok());
  ASSERT_EQ(our_tokens->size(), their_tokens->size());
  int renamed = 0;
  for (size_t i = 0; i < our_tokens->size(); ++i) {
    if ((*our_tokens)[i] == (*their_tokens)[i]) continue;
    EXPECT_GE(i, 128000u) << "token " << i << ": " << (*our_tokens)[i] << " vs "
                          << (*their_tokens)[i];
    ++renamed;
  }
  EXPECT_LT(renamed, 16) << "more than a few added tokens renamed";
  EXPECT_EQ(*ours->GetStringArray("tokenizer.ggml.merges"),
            *theirs->GetStringArray("tokenizer.ggml.merges"));
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre"}) {
    EXPECT_EQ(*ours->GetString(key), *theirs->GetString(key)) << key;
  }
  EXPECT_EQ(*ours->GetU32("tokenizer.ggml.bos_token_id"),
            *theirs->GetU32("tokenizer.ggml.bos_token_id"));
  // Every token llama.cpp marks control is control in ours, and the normal
  // ones normal: what decides matching in text and rendering.
  const auto our_vocab = VocabFromGguf(*ours);
  const auto their_vocab = VocabFromGguf(*theirs);
  ASSERT_TRUE(our_vocab.ok() && their_vocab.ok());
  for (size_t i = 0; i < 128000; ++i) {
    ASSERT_EQ(our_vocab->types[i], their_vocab->types[i]) << "token " << i;
  }
  for (size_t i = 128000; i < our_vocab->types.size(); ++i) {
    EXPECT_EQ(our_vocab->types[i], TokenType::kControl) << "token " << i;
  }
  EXPECT_TRUE(our_vocab->add_bos);
  EXPECT_EQ(our_vocab->bos_id, 128000);
  EXPECT_EQ(our_vocab->eos_id, 128009);  // tokenizer_config.json: <|eot_id|>
}

// Qwen3's tokenizer.json padded to the model's 151,936 like llama.cpp pads
// Qwen2's: the same BPE tokens, merges and pre-tokenizer; Qwen3's extra added
// tokens (<think>, <tool_call>, ...) present where Qwen2's file has padding.
TEST(HfTokenizerTest, Qwen3AgreesWithLlamaCppsQwen2Conversion) {
  const auto ours = Convert("hf-qwen3", 151936);
  const auto theirs = LlamaCppVocab("qwen2");
  auto our_tokens = ours->GetStringArray("tokenizer.ggml.tokens");
  auto their_tokens = theirs->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(our_tokens.ok() && their_tokens.ok());
  ASSERT_EQ(our_tokens->size(), their_tokens->size());
  int added = 0;
  for (size_t i = 0; i < our_tokens->size(); ++i) {
    if ((*our_tokens)[i] == (*their_tokens)[i]) continue;
    ASSERT_EQ((*their_tokens)[i], "[PAD" + std::to_string(i) + "]") << "token " << i;
    ++added;
  }
  EXPECT_GT(added, 0);
  EXPECT_EQ(*ours->GetStringArray("tokenizer.ggml.merges"),
            *theirs->GetStringArray("tokenizer.ggml.merges"));
  EXPECT_EQ(*ours->GetString("tokenizer.ggml.pre"), "qwen2");
  const auto vocab = VocabFromGguf(*ours);
  ASSERT_TRUE(vocab.ok());
  EXPECT_FALSE(vocab->add_bos);  // Qwen adds no BOS
  EXPECT_EQ(vocab->pieces[vocab->eos_id], "<|im_end|>");
  EXPECT_FALSE(vocab->chat_template.empty());
}

// Hugging Face's own ids on every string of the corpus, including those
// Qwen's NFC normalizer changes (324 of them: combining marks) and those
// with "</s>" in the text (an ordinary token of Qwen's vocabulary, which
// llama.cpp's files turn into an end-of-generation control token; a folder
// keeps it text).
TEST(HfTokenizerTest, CorpusIdsEqualHuggingFaces) {
  std::vector<std::string> corpus;
  for (const std::string& line : ReadLines(kCorpusDir + "strings.jsonl")) {
    corpus.push_back(Json::parse(line).get<std::string>());
  }
  struct Case {
    const char* folder;
    int n_vocab;
    const char* ids;
  };
  for (const Case& c : {Case{"hf-llama3.1", 128256, "llama3.1.hf.ids"},
                        Case{"hf-qwen3", 151936, "qwen3.hf.ids"}}) {
    const auto tok = TokenizerOf(*Convert(c.folder, c.n_vocab));
    const std::vector<std::string> want = ReadLines(kCorpusDir + c.ids);
    ASSERT_EQ(want.size(), corpus.size());
    int mismatches = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
      std::istringstream ls(want[i]);
      std::vector<TokenId> ids;
      for (TokenId id; ls >> id;) ids.push_back(id);
      if (tok->EncodeWithSpecial(corpus[i], /*add_bos=*/false) != ids && ++mismatches <= 10) {
        ADD_FAILURE() << c.folder << " string " << i << " " << Json(corpus[i]).dump();
      }
    }
    EXPECT_EQ(mismatches, 0) << c.folder;
  }
}

// The folder's own end-of-generation set: generation_config.json's ids, the
// eos token and the added control tokens llama.cpp's list names; Qwen's
// "</s>" (a plain BPE token) is neither control nor an end.
TEST(HfTokenizerTest, EndOfGenerationFromTheFolder) {
  auto tokenizer = ReadJsonFile(kVocabDir + "hf-qwen3/tokenizer.json");
  auto config = ReadJsonFile(kVocabDir + "hf-qwen3/tokenizer_config.json");
  ASSERT_TRUE(tokenizer.ok() && config.ok());
  const Json generation = {{"eos_token_id", {151645, 151643, 151662}}};  // + <|fim_pad|>
  GgufWriter w;
  ASSERT_TRUE(AddHfTokenizerMetadata(*tokenizer, &*config, &generation, 151936, &w).ok());
  auto bytes = w.WriteBuffer([](size_t, TensorSink&) { return Status(); });
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::OpenBuffer(*std::move(bytes));
  ASSERT_TRUE(file.ok());
  const auto tok = TokenizerOf(**file);
  const std::vector<TokenId> ends = {151643, 151645, 151662};  // <|endoftext|> <|im_end|> <|fim_pad|>
  for (TokenId id = 0; id < 151936; ++id) {
    const bool want = std::find(ends.begin(), ends.end(), id) != ends.end();
    ASSERT_EQ(tok->IsEndOfGeneration(id), want) << id << " " << tok->vocab().pieces[id];
  }
  const std::vector<TokenId> s = tok->EncodeWithSpecial("a</s>b", false);
  EXPECT_GT(s.size(), 3u) << "</s> matched as one special token";
  // NFC: "e" + U+0301 tokenizes as the precomposed "é".
  EXPECT_EQ(tok->EncodeWithSpecial("caf\x65\xCC\x81", false), tok->EncodeWithSpecial("caf\xC3\xA9", false));
}

TEST(HfTokenizerTest, UnsupportedTokenizersNameWhatTheyAre) {
  GgufWriter w;
  auto error = [&](const Json& tokenizer) {
    StatusOr<int> n = AddHfTokenizerMetadata(tokenizer, nullptr, nullptr, 0, &w);
    return n.ok() ? std::string("ok") : n.status().ToString();
  };
  EXPECT_NE(error({{"model", {{"type", "WordPiece"}}}}).find("WordPiece"), std::string::npos);
  EXPECT_NE(error({{"model", {{"type", "BPE"}, {"byte_fallback", true}, {"vocab", {{"a", 0}}}}}})
                .find("SentencePiece"),
            std::string::npos);
  const Json odd_pre = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0u}}}, {"merges", Json::array()}}},
                        {"pre_tokenizer", {{"type", "Whitespace"}}}};
  EXPECT_NE(error(odd_pre).find("Whitespace"), std::string::npos) << error(odd_pre);
  const Json lowercase = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0u}}}, {"merges", Json::array()}}},
                         {"pre_tokenizer", {{"type", "ByteLevel"}}},
                         {"normalizer", {{"type", "Lowercase"}}}};
  EXPECT_NE(error(lowercase).find("normalizer 'Lowercase'"), std::string::npos) << error(lowercase);
  // Values of the wrong type are errors too, not exceptions.
  const Json confused = {{"model", {{"type", "BPE"}, {"byte_fallback", "no"}, {"vocab", {{"a", 0u}}}}}};
  EXPECT_NE(error(confused).find("tokenizer.json"), std::string::npos) << error(confused);
  const Json too_small = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0u}, {"b", 7u}}}}},
                          {"pre_tokenizer", {{"type", "ByteLevel"}}}};
  StatusOr<int> n = AddHfTokenizerMetadata(too_small, nullptr, nullptr, 4, &w);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().ToString().find("vocab_size is 4"), std::string::npos) << n.status().ToString();
}

}  // namespace
}  // namespace kvs
