// Chat templates rendered by our Jinja interpreter against python3-jinja2
// configured as Hugging Face's apply_chat_template
// (tests/data/chat_templates/hf_render.py), byte for byte. The requests go
// through the server's own path: the OpenAI request parser, then the
// template context builder (chat_context.h), then src/jinja. Conversations
// come from make_conversations.py (seeded): system prompts or not, many
// turns, multi-part contents, tools, tool calls and results, reasoning,
// chat_template_kwargs, add_generation_prompt on and off.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "io/gguf_reader.h"
#include "io/gguf_vocab.h"
#include "jinja/hf_globals.h"
#include "jinja/json.h"
#include "jinja/template.h"
#include "server/chat_context.h"
#include "server/openai_request.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace kvs::chat_template_e2e_test {
namespace {

using json = nlohmann::ordered_json;  // keeps the generator's key order, as a client's

const std::string kDir = std::string(KVS_SOURCE_DIR) + "/tests/data/chat_templates";
const std::string kVocab = std::string(KVS_SHARED_DIR) + "/models/vocab";

struct TemplateCase {
  const char* name;
  std::string path;  // a .jinja file or a tokenizer_config.json
  const char* bos;
  const char* eos;
  const char* generator_flags;
  int seed;
};

void PrintTo(const TemplateCase& c, std::ostream* os) { *os << c.name; }

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TemplateText(const std::string& path) {
  std::string text = Slurp(path);
  if (path.size() > 5 && path.substr(path.size() - 5) == ".json") {
    return json::parse(text)["chat_template"].get<std::string>();
  }
  return text;
}

// Per-process temporary file names: ctest runs each case in its own
// process, in parallel.
std::string Tmp(const std::string& name) {
  return ::testing::TempDir() + "/kvs_chat_" + std::to_string(getpid()) + "_" + name;
}

// A GGUF file's tokenizer.chat_template, extracted to a file.
std::string ExtractGgufTemplate(const std::string& gguf) {
  const std::string path = Tmp("gguf_template.jinja");
  std::string cmd = "/usr/bin/python3 " + kDir + "/gguf_template.py " + gguf + " > " + path;
  return std::system(cmd.c_str()) == 0 ? path : "";
}

class ChatTemplateE2eTest : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(ChatTemplateE2eTest, RendersLikeHuggingFace) {
  ASSERT_TRUE(testing::PythonImports("jinja2")) << "`make deps` installs python3-jinja2";
  TemplateCase c = GetParam();
  if (c.path.size() > 5 && c.path.substr(c.path.size() - 5) == ".gguf") {
    c.path = ExtractGgufTemplate(c.path);  // the template as llama.cpp's file carries it
    ASSERT_FALSE(c.path.empty()) << "no tokenizer.chat_template in " << GetParam().path;
  }
  const std::string reqs = Tmp(std::string(c.name) + ".jsonl");
  const std::string outs = Tmp(std::string(c.name) + ".out");
  std::string gen = "/usr/bin/python3 " + kDir + "/make_conversations.py --count 80 --seed " +
                    std::to_string(c.seed) + " " + c.generator_flags + " --bos '" + c.bos +
                    "' --eos '" + c.eos + "' > " + reqs;
  ASSERT_EQ(std::system(gen.c_str()), 0) << gen;
  std::string render = "/usr/bin/python3 " + kDir + "/hf_render.py " + c.path + " --requests " +
                       reqs + " > " + outs;
  ASSERT_EQ(std::system(render.c_str()), 0) << render;

  auto tmpl = jinja::Template::Parse(TemplateText(c.path));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
  std::tm date{};
  date.tm_year = 2024 - 1900;
  date.tm_mon = 6;
  date.tm_mday = 26;
  std::ifstream rin(reqs), oin(outs);
  std::string rline, oline;
  int n = 0, n_rendered = 0;
  while (std::getline(rin, rline)) {
    ASSERT_TRUE(std::getline(oin, oline)) << "oracle output ended early";
    ++n;
    json line = json::parse(rline);
    json expected = json::parse(oline);
    auto request = server::ParseOpenAiRequest(server::Endpoint::kChat, line["request"].dump());
    ASSERT_TRUE(request.ok()) << request.error().message << "\n" << rline;
    auto ctx = server::ChatTemplateContext(request.value(), {c.bos, c.eos}, date,
                                           line["add_generation_prompt"].get<bool>());
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    auto ours = (*tmpl)->Render(*ctx);
    if (expected.is_object()) {
      EXPECT_FALSE(ours.ok()) << "jinja2 refused conversation " << n << " ("
                              << expected["error"] << ") but we rendered:\n" << *ours;
      continue;
    }
    ASSERT_TRUE(ours.ok()) << "conversation " << n << ": " << ours.status().ToString() << "\n" << rline;
    EXPECT_EQ(*ours, expected.get<std::string>()) << "conversation " << n << ":\n" << rline;
    ++n_rendered;
  }
  std::remove(reqs.c_str());
  std::remove(outs.c_str());
  if (c.path != GetParam().path) std::remove(c.path.c_str());  // the template taken out of a GGUF
  EXPECT_EQ(n, 80);
  // Most conversations must render (not just fail alike).
  EXPECT_GE(n_rendered, c.name == std::string("mistral") ? 10 : 60) << c.name;
}

// Small templates, one language feature each (make_snippets.py), with a
// fixed context: output or refusal as jinja2's.
TEST(ChatTemplateSnippetsTest, EachFeatureRendersLikeJinja2) {
  ASSERT_TRUE(testing::PythonImports("jinja2")) << "`make deps` installs python3-jinja2";
  const std::string snippets = Tmp("snippets.jsonl");
  const std::string outs = Tmp("snippets.out");
  std::string cmd = "/usr/bin/python3 " + kDir + "/make_snippets.py > " + snippets +
                    " && /usr/bin/python3 " + kDir + "/hf_render.py --snippets " + snippets + " > " + outs;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::tm date{};
  date.tm_year = 2024 - 1900;
  date.tm_mon = 6;
  date.tm_mday = 26;
  date.tm_wday = 5;
  std::ifstream sin(snippets), oin(outs);
  std::string sline, oline;
  int n = 0;
  while (std::getline(sin, sline)) {
    ASSERT_TRUE(std::getline(oin, oline));
    ++n;
    json item = json::parse(sline);
    json expected = json::parse(oline);
    const std::string src = item["template"].get<std::string>();
    jinja::Dict ctx = jinja::FromJson(item["context"]).AsDict();
    jinja::AddHfGlobals(date, &ctx);
    auto tmpl = jinja::Template::Parse(src);
    StatusOr<std::string> ours = tmpl.ok() ? (*tmpl)->Render(ctx) : StatusOr<std::string>(tmpl.status());
    if (expected.is_object()) {
      EXPECT_FALSE(ours.ok()) << src << "\njinja2: " << expected["error"] << "\nours: " << *ours;
    } else {
      if (!ours.ok()) {
        ADD_FAILURE() << src << "\n" << ours.status().ToString();
        continue;
      }
      EXPECT_EQ(*ours, expected.get<std::string>()) << src;
    }
  }
  EXPECT_GE(n, 70);
  std::remove(snippets.c_str());
  std::remove(outs.c_str());
}

// Through HTTP: a tiny Qwen3 model written by make-model with the real
// vocabulary and Qwen3's template; /tokenize on chat requests with tools,
// tool calls, reasoning and chat_template_kwargs gives exactly the tokens of
// jinja2's rendering encoded with special tokens (no BOS, as the vocabulary
// asks), and a chat completion with tools is answered.
TEST(ServedChatTemplateTest, TokenizeEqualsHuggingFaceRendering) {
  ASSERT_TRUE(testing::PythonImports("jinja2")) << "`make deps` installs python3-jinja2";
  const std::string model = Tmp("qwen3.gguf");
  const std::string config = kVocab + "/hf-qwen3/tokenizer_config.json";
  std::string make = testing::KvserveBinary() + " make-model --shape tiny-qwen3 --type F16 --vocab " +
                     kVocab + "/ggml-vocab-qwen2.gguf --chat-template " + config + " -o " + model +
                     " > /dev/null 2>&1";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  auto file = GgufFile::Open(model);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto vocab = VocabFromGguf(**file);
  ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
  auto tok = Tokenizer::Create(*vocab);
  ASSERT_TRUE(tok.ok());
  auto piece = [&](TokenId id) { return id >= 0 ? vocab->pieces[id] : std::string(); };

  // Conversations as the server renders them: add_generation_prompt on.
  const std::string reqs = Tmp("served.jsonl"), outs = Tmp("served.out");
  std::string gen = "/usr/bin/python3 " + kDir + "/make_conversations.py --count 12 --seed 31 --tools --thinking" +
                    " --bos " + testing::Quote(piece(vocab->bos_id)) + " --eos " +
                    testing::Quote(piece(vocab->eos_id)) + " > " + reqs + ".raw";
  ASSERT_EQ(std::system(gen.c_str()), 0) << gen;
  std::vector<json> lines;
  {
    std::ifstream in(reqs + ".raw");
    std::ofstream out(reqs);
    for (std::string l; std::getline(in, l);) {
      json line = json::parse(l);
      line["context"]["add_generation_prompt"] = true;
      out << line.dump() << "\n";
      lines.push_back(line);
    }
  }
  std::string render = "/usr/bin/python3 " + kDir + "/hf_render.py " + config + " --requests " + reqs + " > " + outs;
  ASSERT_EQ(std::system(render.c_str()), 0) << render;

  const std::string log = Tmp("served.log");
  std::string script = testing::ServeInBackground(model, log);
  for (const json& line : lines) {
    script += "curl -s -H 'Content-Type: application/json' localhost:$port/tokenize -d " +
              testing::Quote(line["request"].dump()) + "; echo; ";
  }
  json chat = lines[0]["request"];
  chat.erase("model");
  chat["max_tokens"] = 2;
  script += "curl -s -H 'Content-Type: application/json' localhost:$port/v1/chat/completions -d " +
            testing::Quote(chat.dump()) + "; echo; kill $pid; wait $pid";
  auto run = testing::RunCommand("bash -c " + testing::Quote(script));
  std::vector<json> responses;
  std::istringstream rs(run.out);
  for (std::string l; std::getline(rs, l);) {
    if (!l.empty() && l[0] == '{') responses.push_back(json::parse(l, nullptr, false));
  }
  ASSERT_EQ(responses.size(), lines.size() + 1) << run.out << testing::ReadFile(log);
  std::ifstream oin(outs);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string o;
    ASSERT_TRUE(std::getline(oin, o));
    json expected = json::parse(o);
    ASSERT_TRUE(expected.is_string()) << o;
    const std::string text = expected.get<std::string>();
    const bool has_bos = vocab->bos_id >= 0 && text.rfind(piece(vocab->bos_id), 0) == 0;
    std::vector<TokenId> want = (*tok)->EncodeWithSpecial(text, !has_bos);
    EXPECT_EQ(responses[i]["tokens"].get<std::vector<TokenId>>(), want)
        << "conversation " << i << ": " << responses[i].dump().substr(0, 300) << "\n" << text;
  }
  const json& answer = responses.back();
  EXPECT_EQ(answer.value("object", ""), "chat.completion") << answer.dump();
  EXPECT_EQ(answer.value("usage", json::object()).value("prompt_tokens", -1), responses[0].value("count", -2)) << answer.dump();
  for (const std::string& f : {model, reqs, reqs + ".raw", outs, log}) std::remove(f.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Templates, ChatTemplateE2eTest,
    ::testing::Values(
        TemplateCase{"llama31", kVocab + "/hf-llama3.1/tokenizer_config.json", "<|begin_of_text|>",
                     "<|eot_id|>", "--tools", 11},
        TemplateCase{"llama31_tools", kDir + "/llama31_tools.jinja", "<|begin_of_text|>", "<|eot_id|>",
                     "--tools", 12},
        TemplateCase{"qwen3", kVocab + "/hf-qwen3/tokenizer_config.json", "", "<|im_end|>",
                     "--tools --thinking", 13},
        TemplateCase{"qwen25_tools", kDir + "/qwen25_tools.jinja", "", "<|im_end|>", "--tools", 14},
        TemplateCase{"qwen2_gguf", kVocab + "/ggml-vocab-qwen2.gguf", "<|endoftext|>", "<|endoftext|>", "--tools", 15},
        TemplateCase{"chatml", kDir + "/chatml.jinja", "", "<|im_end|>", "", 16},
        TemplateCase{"smollm2", kDir + "/smollm2.jinja", "", "<|im_end|>", "", 17},
        TemplateCase{"mistral", kDir + "/mistral.jinja", "<s>", "</s>", "--no-system", 18},
        TemplateCase{"features", kDir + "/features.jinja", "<s>", "</s>", "--tools --thinking", 19}),
    [](const ::testing::TestParamInfo<TemplateCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kvs::chat_template_e2e_test
