#include "tokenizer/detokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tokenizer/testing_llama2c_vocab.h"

namespace kvs {
namespace {

constexpr TokenId kBos = 1;

class DetokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vocab =
        testing::ReadLlama2cVocabForTest(std::string(KVS_SHARED_DIR) + "/models/tok512.bin");
    ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
    auto tok = Tokenizer::Create(*std::move(vocab));
    ASSERT_TRUE(tok.ok());
    tok_ = *std::move(tok);
  }
  TokenId Byte(unsigned char b) const {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    return tok_->FindPiece(name);
  }
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(DetokenizerTest, EmojiSplitOverByteTokensIsHeldUntilComplete) {
  IncrementalDetokenizer d(tok_.get(), 403, {});
  const unsigned char emoji[] = {0xF0, 0x9F, 0x98, 0x80};  // U+1F600
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d.Add(Byte(emoji[i])).text, "") << i;
  EXPECT_EQ(d.Add(Byte(emoji[3])).text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(d.Add(Byte('!')).text, "!");
  EXPECT_EQ(d.Flush(), "");
}

TEST_F(DetokenizerTest, IncompleteUtf8AtFlushBecomesReplacementChar) {
  IncrementalDetokenizer d(tok_.get(), 403, {});
  EXPECT_EQ(d.Add(Byte(0xE4)).text, "");
  EXPECT_EQ(d.Add(Byte(0xB8)).text, "");
  EXPECT_EQ(d.Flush(), "\xEF\xBF\xBD");
}

TEST_F(DetokenizerTest, InvalidBytesAreReplacedAtOnce) {
  IncrementalDetokenizer d(tok_.get(), 403, {});
  EXPECT_EQ(d.Add(Byte(0xFF)).text, "\xEF\xBF\xBD");
  EXPECT_EQ(d.Add(Byte(0xE4)).text, "");
  // 'A' cannot continue E4: the E4 is bad, the 'A' stands.
  EXPECT_EQ(d.Add(Byte('A')).text,
            "\xEF\xBF\xBD"
            "A");
}

TEST_F(DetokenizerTest, LeadingSpaceDroppedAfterBos) {
  IncrementalDetokenizer d(tok_.get(), kBos, {});
  EXPECT_EQ(d.Add(403).text, "Once");
  EXPECT_EQ(d.Add(407).text, " upon");
}

TEST_F(DetokenizerTest, StopStringSpanningTokens) {
  // "Once upon a time": 403 407 261 378.
  IncrementalDetokenizer d(tok_.get(), kBos, {"on a ti"});
  EXPECT_EQ(d.Add(403).text, "Once");
  auto r = d.Add(407);  // " upon": "on" may start the stop string
  EXPECT_EQ(r.text, " up");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(d.Add(261).text, "");  // " a": still "on a"
  r = d.Add(378);                  // " time" completes it
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(d.Add(403).text, "");  // nothing after a stop
  EXPECT_EQ(d.Flush(), "");
}

TEST_F(DetokenizerTest, PartialStopThenMismatchReleasesText) {
  IncrementalDetokenizer d(tok_.get(), kBos, {" upon a tree"});
  EXPECT_EQ(d.Add(403).text, "Once");
  EXPECT_EQ(d.Add(407).text, "");
  EXPECT_EQ(d.Add(261).text, "");
  auto r = d.Add(378);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.text, " upon a time");
}

TEST_F(DetokenizerTest, FlushReleasesPartialStop) {
  IncrementalDetokenizer d(tok_.get(), kBos, {" upon a tree"});
  EXPECT_EQ(d.Add(403).text, "Once");
  EXPECT_EQ(d.Add(407).text, "");
  EXPECT_EQ(d.Flush(), " upon");
}

TEST_F(DetokenizerTest, StopInsideOneTokenAndEarliestStopWins) {
  IncrementalDetokenizer d(tok_.get(), kBos, {"time", "pon"});
  EXPECT_EQ(d.Add(403).text, "Once");
  auto r = d.Add(407);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, " u");
}

TEST_F(DetokenizerTest, IncludeStopKeepsTheStopStringAndNothingAfter) {
  {  // "on a" completes with " a" (261): the text ends with it
    IncrementalDetokenizer d(tok_.get(), kBos, {"on a", "zzz"}, /*include_stop=*/true);
    EXPECT_EQ(d.Add(403).text, "Once");
    EXPECT_EQ(d.Add(407).text, " up");
    auto r = d.Add(261);
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "on a");
    EXPECT_EQ(d.Add(378).text, "");
    EXPECT_EQ(d.Flush(), "");
  }
  {  // " upon" (407) completes "po" and "pon" at one place: the longer is kept,
     // and nothing past it (the token's own rest is dropped)
    IncrementalDetokenizer d(tok_.get(), kBos, {"po", "pon"}, /*include_stop=*/true);
    EXPECT_EQ(d.Add(403).text, "Once");
    auto r = d.Add(407);
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, " upon");
    IncrementalDetokenizer plain(tok_.get(), kBos, {"po", "pon"});
    plain.Add(403);
    EXPECT_EQ(plain.Add(407).text, " u");
  }
}

TEST_F(DetokenizerTest, GoldenStreamWithStopMatchesTextBeforeIt) {
  std::ifstream f(std::string(KVS_SHARED_DIR) + "/golden/once_upon_a_time.ids");
  std::string line;
  std::vector<TokenId> ids;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string name;
    ls >> name;
    TokenId id;
    while (ls >> id) ids.push_back(id);
  }
  // Whole-stream text from the golden file, independent of this class.
  std::ifstream t(std::string(KVS_SHARED_DIR) + "/golden/once_upon_a_time.txt");
  std::stringstream ss;
  ss << t.rdbuf();
  const std::string full = ss.str().substr(0, ss.str().size() - 1);  // run.c's final '\n'

  for (const std::string stop : {"Lily's mom", "\n", "didn't know"}) {
    SCOPED_TRACE(stop);
    IncrementalDetokenizer d(tok_.get(), kBos, {stop, "never appears"});
    std::string out;
    bool stopped = false;
    for (size_t i = 1; i < ids.size() && !stopped; ++i) {
      auto r = d.Add(ids[i]);
      out += r.text;
      stopped = r.stopped;
    }
    EXPECT_TRUE(stopped);
    EXPECT_EQ(out, full.substr(0, full.find(stop)));
  }
  IncrementalDetokenizer d(tok_.get(), kBos, {"never appears"});
  std::string out;
  for (size_t i = 1; i < ids.size(); ++i) out += d.Add(ids[i]).text;
  out += d.Flush();
  EXPECT_EQ(out, full);
}

}  // namespace
}  // namespace kvs
