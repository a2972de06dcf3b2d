#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "tokenizer/testing_llama2c_vocab.h"

namespace kvs {
namespace {

const std::string kModels = std::string(KVS_SHARED_DIR) + "/models/";
const std::string kGolden = std::string(KVS_SHARED_DIR) + "/golden/";

std::unique_ptr<Tokenizer> LoadLlama2c(const std::string& file) {
  auto vocab = testing::ReadLlama2cVocabForTest(kModels + file);
  KVS_CHECK(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(*std::move(vocab));
  KVS_CHECK(tok.ok()) << tok.status().ToString();
  return *std::move(tok);
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Parses "name: 1 2 3" lines of a golden .ids file.
std::map<std::string, std::vector<TokenId>> ReadIdsFile(const std::string& path) {
  std::map<std::string, std::vector<TokenId>> out;
  std::istringstream in(ReadWholeFile(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name;
    ls >> name;
    name.pop_back();  // ':'
    TokenId id;
    while (ls >> id) out[name].push_back(id);
  }
  return out;
}

// Oracle: run.c's encode() as written there, O(n^2) rescans, byte ids by
// piece text, over a vocab lookup of every piece (as run.c's str_lookup).
std::vector<TokenId> NaiveRunCEncode(const Vocab& v, const std::string& text) {
  std::map<std::string, TokenId> lookup;
  for (size_t i = 0; i < v.pieces.size(); ++i) lookup.emplace(v.pieces[i], i);
  std::vector<TokenId> tokens = {v.bos_id};
  if (!text.empty()) tokens.push_back(lookup.at(" "));
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    while (i + len < text.size() && len < 4 && (text[i + len] & 0xC0) == 0x80) ++len;
    auto it = lookup.find(text.substr(i, len));
    if (it != lookup.end()) {
      tokens.push_back(it->second);
    } else {
      for (size_t b = 0; b < len; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<unsigned char>(text[i + b]));
        tokens.push_back(lookup.at(name));
      }
    }
    i += len;
  }
  while (true) {
    float best = -1e10f;
    int best_i = -1;
    TokenId best_id = -1;
    for (size_t i = 1; i + 1 < tokens.size(); ++i) {  // BOS never merges
      auto it = lookup.find(v.pieces[tokens[i]] + v.pieces[tokens[i + 1]]);
      if (it != lookup.end() && v.scores[it->second] > best) {
        best = v.scores[it->second];
        best_i = static_cast<int>(i);
        best_id = it->second;
      }
    }
    if (best_i < 0) break;
    tokens[best_i] = best_id;
    tokens.erase(tokens.begin() + best_i + 1);
  }
  return tokens;
}

TEST(TokenizerTest, OnceUponATimeMatchesRunC) {
  auto tok = LoadLlama2c("tok512.bin");
  EXPECT_EQ(tok->Encode("Once upon a time", true), (std::vector<TokenId>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->Encode("", true), (std::vector<TokenId>{1}));
  EXPECT_EQ(tok->Encode("", false), (std::vector<TokenId>{}));
  EXPECT_EQ(tok->Encode("Once upon a time", false), (std::vector<TokenId>{403, 407, 261, 378}));
}

TEST(TokenizerTest, GoldenPromptsAndContinuations) {
  auto tok = LoadLlama2c("tok512.bin");
  const std::pair<const char*, const char*> cases[] = {{"once_upon_a_time", "Once upon a time"},
                                                       {"the_cat", "The cat"}};
  for (const auto& [name, prompt] : cases) {
    SCOPED_TRACE(name);
    auto ids = ReadIdsFile(kGolden + name + ".ids");
    const std::string txt = ReadWholeFile(kGolden + name + ".txt");
    ASSERT_EQ(txt.substr(0, std::string(prompt).size()), prompt);
    EXPECT_EQ(tok->Encode(prompt, true), ids["prompt_ids"]);

    // run.c prints every position's piece (prompt included) then a newline.
    std::vector<TokenId> all = ids["prompt_ids"];
    all.insert(all.end(), ids["generated_ids"].begin(), ids["generated_ids"].end());
    ASSERT_GT(ids["generated_ids"].size(), 100u);
    EXPECT_EQ(tok->Decode(all) + "\n", txt);

    std::string streamed;
    for (size_t i = 1; i < all.size(); ++i) streamed.append(tok->Piece(all[i - 1], all[i]));
    EXPECT_EQ(streamed + "\n", txt);
  }
}

TEST(TokenizerTest, PieceRules) {
  auto tok = LoadLlama2c("tok512.bin");
  EXPECT_EQ(tok->Piece(1, 403), "Once");  // after BOS the leading space goes
  EXPECT_EQ(tok->Piece(378, 403), " Once");
  EXPECT_EQ(tok->Piece(0, 3 + 'A'), "A");  // <0x41>
  EXPECT_EQ(tok->Piece(0, 3 + 0x0A), "\n");
  EXPECT_EQ(tok->Piece(0, 3 + 0xE4), "\xE4");
  EXPECT_EQ(tok->Piece(0, 1), "");  // control tokens print nothing
  EXPECT_EQ(tok->Piece(0, 2), "");
  EXPECT_EQ(tok->FindPiece("<0x41>"), 3 + 'A');
  EXPECT_EQ(tok->FindPiece("\xE2\x96\x81"
                           "t"),
            tok->FindPiece(" t"));
  EXPECT_EQ(tok->FindPiece(" t"), 259);
  EXPECT_EQ(tok->FindPiece("no such piece"), -1);
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
}

TEST(TokenizerTest, ByteFallbackForCharsOutsideTok512) {
  auto tok = LoadLlama2c("tok512.bin");
  const std::string s = "a \xE4\xB8\xAD b";  // "a 中 b"
  auto ids = tok->Encode(s, true);
  const std::vector<TokenId> want_bytes = {tok->FindPiece("<0xE4>"), tok->FindPiece("<0xB8>"),
                                           tok->FindPiece("<0xAD>")};
  EXPECT_NE(std::search(ids.begin(), ids.end(), want_bytes.begin(), want_bytes.end()), ids.end());
  EXPECT_EQ(tok->Decode(ids), s);
}

TEST(TokenizerTest, Llama32kRoundTripsAndMatchesRunC) {
  auto vocab = testing::ReadLlama2cVocabForTest(kModels + "tokenizer.bin");
  ASSERT_TRUE(vocab.ok());
  auto tok = *Tokenizer::Create(*vocab);
  ASSERT_EQ(tok->n_vocab(), 32000);
  EXPECT_EQ(tok->Encode("Hello world", true), (std::vector<TokenId>{1, 15043, 3186}));
  const std::string texts[] = {
      "Hello world",
      "caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9",  // café naïve résumé
      "\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97",           // 中文字
      "emoji \xF0\x9F\x98\x80\xF0\x9F\xA6\x99 end",     // 😀🦙
      "  two leading spaces, tabs\tand\nnewlines\n\n",
      "def f(x):\n    return x ** 2  # comment",
  };
  for (const std::string& s : texts) {
    SCOPED_TRACE(s);
    auto ids = tok->Encode(s, true);
    EXPECT_EQ(tok->Decode(ids), s);
    EXPECT_EQ(ids, NaiveRunCEncode(*vocab, s));
  }
}

TEST(TokenizerTest, MatchesRunCOnRandomText) {
  auto vocab = testing::ReadLlama2cVocabForTest(kModels + "tok512.bin");
  ASSERT_TRUE(vocab.ok());
  auto tok = *Tokenizer::Create(*vocab);
  const std::vector<std::string> alphabet = {"a", "e", "t", "h", "o", " ", " ", "n", "d", ".", "\n",
                                             "\xC3\xA9", "\xF0\x9F\x98\x80", "s", "r",
                                             // "ll", "pp", "oo" are pieces: runs of
                                             // three check the leftmost-first tie rule
                                             "l", "l", "p", "p", "o"};
  const TokenId oo = tok->FindPiece("oo"), o = tok->FindPiece("o");
  EXPECT_EQ(tok->Encode("xooo", false).back(), o);
  EXPECT_EQ(tok->Encode("xooo", false).end()[-2], oo);
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(tok->Encode(s, true), NaiveRunCEncode(*vocab, s)) << "text: '" << s << "'";
  }
}

TEST(TokenizerTest, LongPromptIsFast) {
  auto tok = LoadLlama2c("tokenizer.bin");
  const std::string base = ReadWholeFile(kGolden + "once_upon_a_time.txt");
  std::string text;
  while (text.size() < 10000) text += base;
  // Thread CPU time: the test machine is shared, wall time is noisy.
  const std::clock_t t0 = std::clock();
  auto ids = tok->Encode(text, true);
  const double ms = 1e3 * static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  std::printf("encoded %zu chars into %zu tokens in %.2f ms CPU\n", text.size(), ids.size(), ms);
  EXPECT_EQ(tok->Decode(ids), text);
  // Generous bound (a debug build on a loaded machine): an O(n^2) rescan of
  // ~2.5k tokens over a 32k vocab would take seconds.
  EXPECT_LT(ms, 500.0);
}

// A GGUF-style vocab: U+2581 for space, typed tokens, a control token that
// plain text must never produce.
Vocab SmallGgufVocab() {
  Vocab v;
  auto add = [&](std::string p, float score, TokenType t) {
    v.pieces.push_back(std::move(p));
    v.scores.push_back(score);
    v.types.push_back(t);
  };
  add("<unk>", 0, TokenType::kUnknown);         // 0
  add("<s>", 0, TokenType::kControl);           // 1
  add("</s>", 0, TokenType::kControl);          // 2
  add("\xE2\x96\x81", -1, TokenType::kNormal);  // 3 ▁
  add("a", -2, TokenType::kNormal);             // 4
  add("b", -3, TokenType::kNormal);             // 5
  add("\xE2\x96\x81"
      "a",
      -0.5f, TokenType::kNormal);        // 6 ▁a
  add("ab", -0.1f, TokenType::kNormal);  // 7
  add("<|x|>", 0, TokenType::kControl);  // 8
  add("<", -4, TokenType::kNormal);      // 9
  add("|", -4, TokenType::kNormal);      // 10
  add(">", -4, TokenType::kNormal);      // 11
  add("x", -4, TokenType::kNormal);      // 12
  add("<0x21>", 0, TokenType::kByte);    // 13 '!'
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  return v;
}

TEST(TokenizerTest, GgufStyleVocab) {
  auto tok = *Tokenizer::Create(SmallGgufVocab());
  // " ab": "ab" (-0.1) beats "▁a" (-0.5), so the space stays alone.
  EXPECT_EQ(tok->Encode("ab", true), (std::vector<TokenId>{1, 3, 7}));
  EXPECT_EQ(tok->Encode("a", true), (std::vector<TokenId>{1, 6}));
  EXPECT_EQ(tok->Piece(4, 6), " a");
  EXPECT_EQ(tok->Piece(1, 6), "a");
  EXPECT_EQ(tok->Decode({1, 6, 5, 13}), "ab!");
  // '?' has no piece and no byte token: <unk>.
  EXPECT_EQ(tok->Encode("?", false), (std::vector<TokenId>{3, 0}));
}

TEST(TokenizerTest, ControlTokensOnlyFromSpecialParsing) {
  auto tok = *Tokenizer::Create(SmallGgufVocab());
  auto plain = tok->Encode("<|x|>", false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 8), 0);
  EXPECT_EQ(plain, (std::vector<TokenId>{3, 9, 10, 12, 10, 11}));
  EXPECT_EQ(tok->EncodeWithSpecial("a<|x|>ab", true), (std::vector<TokenId>{1, 6, 8, 3, 7}));
  EXPECT_EQ(tok->EncodeWithSpecial("<|x|>", false), (std::vector<TokenId>{8}));
  EXPECT_EQ(tok->FindPiece("<|x|>"), 8);
  EXPECT_EQ(tok->Piece(0, 8), "");
}

TEST(TokenizerTest, CreateRejectsInconsistentVocab) {
  Vocab v = SmallGgufVocab();
  v.scores.pop_back();
  EXPECT_EQ(Tokenizer::Create(v).status().code(), StatusCode::kInvalidArgument);
  v = SmallGgufVocab();
  v.bos_id = 100;
  EXPECT_EQ(Tokenizer::Create(v).status().code(), StatusCode::kInvalidArgument);
  v = SmallGgufVocab();
  v.model = "gpt2";
  EXPECT_EQ(Tokenizer::Create(v).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(Tokenizer::Create(Vocab{}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kvs
