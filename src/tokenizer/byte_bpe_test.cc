// Byte-level BPE against llama.cpp's own tokenizer test pairs
// (test-tokenizer-0's .inp/.out beside the vocabulary files in
// shared/models/vocab), the GPT-2 byte alphabet, and bad vocabularies.
#include "tokenizer/byte_bpe.h"

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

#include "io/gguf_reader.h"
#include "io/gguf_vocab.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer.h"

namespace kvs {
namespace {

const std::string kByteBpeVocabDir = std::string(KVS_SHARED_DIR) + "/models/vocab/";

std::string ReadPairsFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::unique_ptr<Tokenizer> LoadByteBpeVocab(const std::string& name) {
  auto gguf = GgufFile::Open(kByteBpeVocabDir + "ggml-vocab-" + name + ".gguf");
  KVS_CHECK(gguf.ok()) << gguf.status().ToString();
  auto vocab = VocabFromGguf(**gguf);
  KVS_CHECK(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(*std::move(vocab));
  KVS_CHECK(tok.ok()) << tok.status().ToString();
  return *std::move(tok);
}

struct Pair {
  std::string text;
  std::vector<TokenId> ids;
};

// test-tokenizer-0's format: strings separated by "\n__ggml_vocab_test__\n",
// one line of ids per string.
std::vector<Pair> ReadPairs(const std::string& name) {
  const std::string inp = ReadPairsFile(kByteBpeVocabDir + "ggml-vocab-" + name + ".gguf.inp");
  const std::string out = ReadPairsFile(kByteBpeVocabDir + "ggml-vocab-" + name + ".gguf.out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Pair> pairs;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    pairs.push_back({inp.substr(pos, next == std::string::npos ? std::string::npos : next - pos),
                     {}});
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (Pair& p : pairs) {
    if (!std::getline(lines, line)) break;
    std::istringstream ls(line);
    for (TokenId id; ls >> id;) p.ids.push_back(id);
  }
  return pairs;
}

class LlamaCppPairsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppPairsTest, IdsEqualLlamaCpps) {
  const auto tok = LoadByteBpeVocab(GetParam());
  const std::vector<Pair> pairs = ReadPairs(GetParam());
  ASSERT_EQ(pairs.size(), 46u);
  for (const Pair& p : pairs) {
    EXPECT_EQ(tok->Encode(p.text, /*add_bos=*/false), p.ids) << "text: '" << p.text << "'";
  }
}

TEST_P(LlamaCppPairsTest, DecodeGivesTheTextBack) {
  const auto tok = LoadByteBpeVocab(GetParam());
  for (const Pair& p : ReadPairs(GetParam())) {
    std::string want = p.text;
    // SentencePiece's dummy prefix is a real space in the ids.
    if (GetParam() == "llama-spm" && !want.empty()) want = " " + want;
    EXPECT_EQ(tok->Decode(p.ids), want);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, LlamaCppPairsTest,
                         ::testing::Values("llama-bpe", "qwen2", "llama-spm"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(ByteUnicodeTest, Gpt2Alphabet) {
  // Values from GPT-2's bytes_to_unicode (encoder.py).
  EXPECT_EQ(ByteToCodepoint(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(ByteToCodepoint('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(ByteToCodepoint('\t'), 0x109u);
  EXPECT_EQ(ByteToCodepoint('A'), static_cast<uint32_t>('A'));
  EXPECT_EQ(ByteToCodepoint(0x00), 0x100u);
  EXPECT_EQ(ByteToCodepoint(0xAD), 0x143u);  // the soft hyphen is the last one mapped
  EXPECT_EQ(ByteToCodepoint(0x7F), 0x121u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(CodepointToByte(ByteToCodepoint(b)), b);
  EXPECT_EQ(CodepointToByte(0x144), -1);
  EXPECT_EQ(CodepointToByte(' '), -1);  // space is not in the alphabet
  EXPECT_EQ(ByteDecodePiece("\xC4\xA0hello\xC4\x8A"), " hello\n");
}

TEST(ByteBpeTest, EndOfGenerationTokens) {
  // Ids from the tokenizer.json files: <|end_of_text|> 128001, <|eot_id|>
  // 128009 (Llama 3's 128008 is a reserved token, not <|eom_id|>);
  // <|endoftext|> 151643, <|im_end|> 151645. llama.cpp's EOG set is the same.
  const auto llama = LoadByteBpeVocab("llama-bpe");
  for (TokenId id : {128001, 128009}) EXPECT_TRUE(llama->IsEndOfGeneration(id)) << id;
  for (TokenId id : {128000, 128006, 128007, 128008, 13}) {
    EXPECT_FALSE(llama->IsEndOfGeneration(id)) << id;
  }
  const auto qwen = LoadByteBpeVocab("qwen2");
  for (TokenId id : {151643, 151645}) EXPECT_TRUE(qwen->IsEndOfGeneration(id)) << id;
  for (TokenId id : {151644, 198}) EXPECT_FALSE(qwen->IsEndOfGeneration(id)) << id;
}

TEST(ByteBpeTest, SpecialTokensInText) {
  const auto tok = LoadByteBpeVocab("llama-bpe");
  // <|begin_of_text|> 128000, <|start_header_id|> 128006, <|end_header_id|>
  // 128007, <|eot_id|> 128009 (tokenizer.json's added_tokens).
  const std::vector<TokenId> ids =
      tok->EncodeWithSpecial("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", true);
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(ids[0], 128000);
  EXPECT_EQ(ids[1], 128006);
  EXPECT_EQ(ids.back(), 128009);
  // Without parse_special the control pieces are plain text.
  const std::vector<TokenId> plain = tok->Encode("<|eot_id|>", false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok->Decode(plain), "<|eot_id|>");
  // Streamed pieces drop control tokens; Decode can render them.
  EXPECT_EQ(tok->Piece(-1, 128009), "");
  EXPECT_EQ(tok->Decode({128009}, /*render_special=*/true), "<|eot_id|>");
  // A space right after BOS is a real space here (no SentencePiece rule).
  EXPECT_EQ(tok->Decode(tok->Encode(" x", true)), " x");
}

TEST(ByteBpeTest, LongPromptIsFast) {
  std::clock_t t0 = std::clock();
  const auto tok = LoadByteBpeVocab("llama-bpe");
  const double load_ms = 1e3 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  std::string text;
  for (const Pair& p : ReadPairs("llama-bpe")) text += p.text + "\n";
  const std::string base = text;
  while (text.size() < 20000) text += base;
  // Thread CPU time: the test machine is shared, wall time is noisy.
  t0 = std::clock();
  const std::vector<TokenId> ids = tok->Encode(text, true);
  const double ms = 1e3 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  std::printf("vocab load %.0f ms CPU; encoded %zu bytes into %zu tokens in %.2f ms CPU\n",
              load_ms, text.size(), ids.size(), ms);
  EXPECT_EQ(tok->Decode(ids), text);
  EXPECT_LT(ms, 500.0);  // generous: ~10 ms expected
}

TEST(ByteBpeTest, AnyBytesRoundTrip) {
  // Invalid UTF-8, NULs and control bytes: encoded byte for byte, never
  // rejected, so decoding gives them back. (No oracle can take invalid
  // UTF-8 from JavaScript; the property is ours.)
  for (const char* name : {"llama-bpe", "qwen2"}) {
    const auto tok = LoadByteBpeVocab(name);
    std::mt19937 rng(7);
    for (int i = 0; i < 300; ++i) {
      std::string s(1 + rng() % 40, '\0');
      for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0x80 + rng() % 128 : rng() % 256);
      if (i % 3 == 0) s = "ok " + s + " <|im_end|>\xF0\x9F\x98";
      const std::vector<TokenId> ids = tok->EncodeWithSpecial(s, false);
      EXPECT_EQ(tok->Decode(ids, /*render_special=*/true), s) << name << " case " << i;
    }
  }
}

Vocab TinyGpt2Vocab(std::string pre) {
  Vocab v;
  v.model = "gpt2";
  v.pre = std::move(pre);
  v.pieces = {"a", "b", "ab"};
  v.scores.assign(3, 0.f);
  v.types.assign(3, TokenType::kNormal);
  v.merges = {"a b"};
  v.add_bos = false;
  v.add_space_prefix = false;
  return v;
}

TEST(ByteBpeTest, UnknownPreTokenizerIsAnErrorNamingIt) {
  auto tok = Tokenizer::Create(TinyGpt2Vocab("foo-bar"));
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().ToString().find("tokenizer.ggml.pre 'foo-bar' is not supported"),
            std::string::npos)
      << tok.status().ToString();
  EXPECT_NE(tok.status().ToString().find("llama-bpe"), std::string::npos);
}

TEST(ByteBpeTest, UnknownModelIsAnErrorNamingIt) {
  Vocab v = TinyGpt2Vocab("default");
  v.model = "t5";
  auto tok = Tokenizer::Create(std::move(v));
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().ToString().find("tokenizer.ggml.model 't5' is not supported"),
            std::string::npos)
      << tok.status().ToString();
}

TEST(ByteBpeTest, MissingMergesIsAnError) {
  Vocab v = TinyGpt2Vocab("gpt2");
  v.merges.clear();
  auto tok = Tokenizer::Create(std::move(v));
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().ToString().find("merges"), std::string::npos);
}

TEST(ByteBpeTest, TinyVocabMergesAndDropsUnspellableBytes) {
  for (const char* pre : {"gpt2", "default", "smollm", "qwen2", "llama-bpe"}) {
    auto tok = Tokenizer::Create(TinyGpt2Vocab(pre));
    ASSERT_TRUE(tok.ok()) << pre << ": " << tok.status().ToString();
    EXPECT_EQ((*tok)->Encode("ab", false), (std::vector<TokenId>{2})) << pre;
    EXPECT_EQ((*tok)->Encode("aab", false), (std::vector<TokenId>{0, 2})) << pre;
    // 'c' has no token: dropped (as llama.cpp), no crash.
    EXPECT_EQ((*tok)->Encode("cab", false), (std::vector<TokenId>{2})) << pre;
    // Invalid UTF-8 and long whitespace runs: no crash.
    (*tok)->Encode(std::string("\xFF\xC3(ab\xE2\x82", 8), false);
    (*tok)->Encode(std::string(100000, ' ') + "ab" + std::string(50000, '\n'), false);
  }
}

}  // namespace
}  // namespace kvs
