// Grammars against independent references.
// JSON schemas (tests/data/grammar/schemas.json) against Python's jsonschema
// (tests/data/grammar/json_schema_oracle.py):
// - every text a random walk through the token mask produces is valid
//   (the constraint, not a model, guarantees validity), and
// - on fuzzed texts (valid instances and near misses, as json.dumps writes
//   them) the grammar accepts exactly the valid ones.
// GBNF grammars (tests/data/grammar/gbnf/*.gbnf) against an Earley
// recognizer with its own GBNF parser (tests/data/grammar/gbnf_oracle.py),
// on random derivations, their one-character mutations and random strings.
// Regexes (tests/data/grammar/regexes.json, guided_regex) against Python's
// re.fullmatch: random walks all match, and walks, their mutations and
// random strings get the same verdict.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include <unistd.h>

#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema.h"
#include "grammar/regex.h"
#include "grammar/utf8.h"
#include "test_util.h"

namespace kvs::grammar_reference_test {
namespace {

using OJson = nlohmann::ordered_json;
using testing::Quote;

const std::string kDataDir = std::string(KVS_SOURCE_DIR) + "/tests/data/grammar/";
const std::string kOracle = kDataDir + "json_schema_oracle.py";

std::vector<OJson> Schemas() {
  return OJson::parse(testing::ReadFile(std::string(KVS_SOURCE_DIR) + "/tests/data/grammar/schemas.json"))
      .get<std::vector<OJson>>();
}

// An oracle's verdicts on `texts` (1 valid, 0 not).
std::vector<int> Check(const std::string& schema_file, const std::vector<std::string>& texts,
                       const std::string& oracle = kOracle, const std::string& mode = "check") {
  // One file per process: CTest runs the cases in parallel processes.
  const std::string in = std::string(KVS_BUILD_DIR) + "/grammar_reference_test." + std::to_string(getpid()) + ".texts";
  {
    std::ofstream f(in);
    for (const std::string& t : texts) f << OJson(t).dump() << "\n";
  }
  const auto r = testing::RunCommand("/usr/bin/python3 " + Quote(oracle) + " " + mode + " " + Quote(schema_file) +
                                     " < " + Quote(in));
  std::remove(in.c_str());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<int> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) out.push_back(line == "1");
  return out;
}

// A vocabulary for the walks: printable ASCII bytes, a few words and
// multi-byte characters (one of them cut in two tokens).
std::vector<std::string> WalkVocab() {
  std::vector<std::string> v;
  for (int c = 0x20; c < 0x7F; ++c) v.emplace_back(1, static_cast<char>(c));
  for (const char* t : {"\n", "\t", "true", "false", "null", "\": ", ", \"", "é", "日本", "\xE2\x82", "\xAC"}) {
    v.emplace_back(t);
  }
  return v;
}

bool Accepts(const Grammar& g, const std::string& text) {
  GrammarMatcher m(&g);
  return m.Accept(text) && m.IsComplete();
}

class GrammarReferenceTest : public ::testing::TestWithParam<int> {};

TEST_P(GrammarReferenceTest, AcceptsExactlyWhatJsonschemaAccepts) {
  ASSERT_TRUE(testing::PythonImports("jsonschema")) << "`make deps` installs python3-jsonschema";
  const OJson schema = Schemas()[GetParam()];
  const std::string schema_file = std::string(KVS_BUILD_DIR) + "/grammar_schema_" + std::to_string(GetParam()) + ".json";
  std::ofstream(schema_file) << schema.dump();
  auto gbnf = JsonSchemaToGbnf(schema.dump());
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().ToString();
  auto grammar = ParseGbnf(*gbnf);
  ASSERT_TRUE(grammar.ok()) << grammar.status().ToString() << "\n" << *gbnf;

  // Random walks through the mask.
  const std::vector<std::string> vocab = WalkVocab();
  const TokenTrie trie(static_cast<int>(vocab.size()), [&](int id) { return std::string_view(vocab[id]); });
  std::vector<uint64_t> bits((vocab.size() + 63) / 64);
  std::mt19937 rng(GetParam() + 1);
  std::vector<std::string> walks;
  for (int w = 0; w < 30; ++w) {
    GrammarMatcher m(&*grammar);
    std::string text;
    for (int step = 0; step < 400; ++step) {
      m.FillMask(trie, bits);
      std::vector<int> allowed, closing;
      for (int id = 0; id < static_cast<int>(vocab.size()); ++id) {
        if (!((bits[id / 64] >> (id % 64)) & 1)) continue;
        allowed.push_back(id);
        if (vocab[id] == "\"" || vocab[id] == "]" || vocab[id] == "}") closing.push_back(id);
      }
      if (m.IsComplete() && (allowed.empty() || rng() % 4 == 0)) {
        walks.push_back(text);
        break;
      }
      ASSERT_FALSE(allowed.empty()) << "dead end after '" << text << "'\n" << *gbnf;
      const std::vector<int>& pool = step > 60 && !closing.empty() && rng() % 10 < 7 ? closing : allowed;
      const int id = pool[rng() % pool.size()];
      ASSERT_TRUE(m.Accept(vocab[id]));
      text += vocab[id];
    }
  }
  EXPECT_GE(walks.size(), 15u);
  const std::vector<int> walk_valid = Check(schema_file, walks);
  ASSERT_EQ(walk_valid.size(), walks.size());
  for (size_t i = 0; i < walks.size(); ++i) {
    EXPECT_TRUE(walk_valid[i]) << "the grammar produced a text the schema refuses: " << walks[i]
                               << "\nschema " << schema.dump() << "\n" << *gbnf;
  }

  // Fuzzed texts: the same verdict as the reference.
  const auto fuzz = testing::RunCommand("/usr/bin/python3 " + Quote(kOracle) + " fuzz " + Quote(schema_file) +
                                        " 300 " + std::to_string(GetParam()));
  ASSERT_EQ(fuzz.exit_code, 0) << fuzz.out;
  std::vector<std::string> texts;
  std::istringstream lines(fuzz.out);
  for (std::string line; std::getline(lines, line);) texts.push_back(OJson::parse(line).get<std::string>());
  const std::vector<int> want = Check(schema_file, texts);
  ASSERT_EQ(want.size(), texts.size());
  int n_valid = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    n_valid += want[i];
    EXPECT_EQ(Accepts(*grammar, texts[i]), want[i] == 1)
        << (want[i] ? "refused a valid text: " : "accepted an invalid text: ") << texts[i]
        << "\nschema " << schema.dump();
  }
  EXPECT_GT(n_valid, 0);
  std::remove(schema_file.c_str());
}

INSTANTIATE_TEST_SUITE_P(Schemas, GrammarReferenceTest, ::testing::Range(0, static_cast<int>(Schemas().size())));

class RegexReferenceTest : public ::testing::TestWithParam<int> {};

TEST_P(RegexReferenceTest, AcceptsExactlyWhatPythonReFullmatchAccepts) {
  ASSERT_EQ(testing::RunCommand("/usr/bin/python3 -c ''").exit_code, 0) << "no /usr/bin/python3";
  const std::string pattern =
      OJson::parse(testing::ReadFile(kDataDir + "regexes.json"))[GetParam()].get<std::string>();
  auto gbnf = RegexToGbnf(pattern);
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().ToString();
  auto grammar = ParseGbnf(*gbnf);
  ASSERT_TRUE(grammar.ok()) << grammar.status().ToString() << "\n" << *gbnf;
  // Single code points as tokens: printable ASCII, tab, newline and the
  // pattern's own characters.
  std::vector<std::string> vocab;
  for (int c = 0x20; c < 0x7F; ++c) vocab.emplace_back(1, static_cast<char>(c));
  for (const char* t : {"\t", "\n", "é", "α", "β", "γ", "δ"}) vocab.emplace_back(t);
  const TokenTrie trie(static_cast<int>(vocab.size()), [&](int id) { return std::string_view(vocab[id]); });
  std::vector<uint64_t> bits((vocab.size() + 63) / 64);
  std::mt19937 rng(GetParam() + 11);
  std::vector<std::string> walks, texts;
  for (int w = 0; w < 60; ++w) {
    GrammarMatcher m(&*grammar);
    std::string text;
    for (int step = 0; step < 200; ++step) {
      m.FillMask(trie, bits);
      std::vector<int> allowed;
      for (int id = 0; id < static_cast<int>(vocab.size()); ++id) {
        if ((bits[id / 64] >> (id % 64)) & 1) allowed.push_back(id);
      }
      if (m.IsComplete() && (allowed.empty() || rng() % 3 == 0)) {
        walks.push_back(text);
        break;
      }
      ASSERT_FALSE(allowed.empty()) << "dead end after '" << text << "'";
      const std::string& piece = vocab[allowed[rng() % allowed.size()]];
      ASSERT_TRUE(m.Accept(piece));
      text += piece;
    }
  }
  ASSERT_GE(walks.size(), 20u) << pattern;
  const std::vector<int> walk_ok = Check(pattern, walks, kDataDir + "regex_oracle.py");
  ASSERT_EQ(walk_ok.size(), walks.size());
  for (size_t i = 0; i < walks.size(); ++i) EXPECT_TRUE(walk_ok[i]) << pattern << " produced " << OJson(walks[i]).dump();
  // Mutations of the walks and random strings.
  for (const std::string& w : walks) {
    std::string t = w;
    if (!t.empty()) {
      const size_t i = rng() % t.size();
      switch (rng() % 3) {
        case 0: t.erase(i, 1); break;
        case 1: t.insert(i, 1, t[i]); break;
        default: t[i] = vocab[rng() % 95][0];
      }
    }
    texts.push_back(w);
    texts.push_back(t);
  }
  for (int i = 0; i < 100; ++i) {
    std::string t;
    for (int n = rng() % 8; n > 0; --n) t += rng() % 2 ? vocab[rng() % vocab.size()] : std::string(1, pattern[rng() % pattern.size()]);
    texts.push_back(t);
  }
  // Drop texts that are not valid UTF-8 (a pattern byte cut from a
  // multi-byte character): neither side is about them.
  std::erase_if(texts, [](const std::string& t) {
    uint32_t cp;
    for (size_t i = 0, len; i < t.size(); i += len) {
      if ((len = DecodeUtf8(t, i, &cp)) == 0) return true;
    }
    return false;
  });
  const std::vector<int> want = Check(pattern, texts, kDataDir + "regex_oracle.py");
  ASSERT_EQ(want.size(), texts.size());
  int n_valid = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    n_valid += want[i];
    EXPECT_EQ(Accepts(*grammar, texts[i]), want[i] == 1)
        << pattern << (want[i] ? " refused: " : " accepted: ") << OJson(texts[i]).dump();
  }
  EXPECT_GT(n_valid, 20);
  EXPECT_LT(n_valid, static_cast<int>(texts.size()));
}

INSTANTIATE_TEST_SUITE_P(Patterns, RegexReferenceTest,
                         ::testing::Range(0, static_cast<int>(OJson::parse(testing::ReadFile(
                                                                  kDataDir + "regexes.json")).size())));

class GbnfReferenceTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GbnfReferenceTest, AcceptsExactlyWhatAnEarleyParserAccepts) {
  ASSERT_EQ(testing::RunCommand("/usr/bin/python3 -c ''").exit_code, 0) << "no /usr/bin/python3";
  const std::string file = kDataDir + "gbnf/" + GetParam() + ".gbnf";
  auto grammar = ParseGbnf(testing::ReadFile(file));
  ASSERT_TRUE(grammar.ok()) << grammar.status().ToString();
  const std::string oracle = kDataDir + "gbnf_oracle.py";
  const auto gen = testing::RunCommand("/usr/bin/python3 " + Quote(oracle) + " gen " + Quote(file) + " 400 1");
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  std::vector<std::string> texts;
  std::istringstream lines(gen.out);
  for (std::string line; std::getline(lines, line);) texts.push_back(OJson::parse(line).get<std::string>());
  const std::vector<int> want = Check(file, texts, oracle);
  ASSERT_EQ(want.size(), texts.size());
  int n_valid = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    n_valid += want[i];
    EXPECT_EQ(Accepts(*grammar, texts[i]), want[i] == 1)
        << (want[i] ? "refused: " : "accepted: ") << OJson(texts[i]).dump();
  }
  EXPECT_GT(n_valid, 40);
  EXPECT_LT(n_valid, static_cast<int>(texts.size()) - 40);
}

INSTANTIATE_TEST_SUITE_P(Grammars, GbnfReferenceTest,
                         ::testing::Values("arithmetic", "jsonish", "counted", "unicode", "balanced", "csv"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace kvs::grammar_reference_test
