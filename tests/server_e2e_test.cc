// End-to-end server tests: each case runs one node test file from
// tests/server/ (the official openai npm package, pinned in
// tests/server/package-lock.json) against `kvserve serve` processes that the
// node side starts on free loopback ports and stops with SIGTERM.
//
// The npm packages are installed on first use with `npm ci` into
// tests/server/node_modules, under a file lock: CTest runs these cases as
// parallel processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace kvs::server_e2e_test {
namespace {

namespace fs = std::filesystem;

const std::string kSourceDir = KVS_SOURCE_DIR;
const std::string kBuildDir = KVS_BUILD_DIR;
const std::string kSharedDir = KVS_SHARED_DIR;
const std::string kTestDir = kSourceDir + "/tests/server";
// As pinned in package.json: node_modules is reinstalled when either differs.

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs a shell command, capturing stdout and stderr together.
CommandResult Run(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool PackageInstalled(const std::string& name, const char* version) {
  std::ifstream f(kTestDir + "/node_modules/" + name + "/package.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str().find(std::string("\"version\": \"") + version + "\"") != std::string::npos;
}

// Every dependency pinned in package.json is in node_modules at its version
// (a checkout whose package.json gained a package installs again).
bool OpenAiInstalled() {
  std::ifstream f(kTestDir + "/package.json");
  const nlohmann::json pkg = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!pkg.is_object() || !pkg.contains("dependencies")) return false;
  for (const auto& [name, version] : pkg["dependencies"].items()) {
    if (!version.is_string() || !PackageInstalled(name, version.get<std::string>().c_str())) return false;
  }
  return true;
}

// Installs the pinned packages once; safe against concurrent test processes.
::testing::AssertionResult EnsureNodeModules() {
  if (Run("node --version").exit_code != 0 || Run("npm --version").exit_code != 0) {
    return ::testing::AssertionFailure() << "node and npm are required (make deps installs them)";
  }
  const std::string lock_path = kBuildDir + "/server-tests-npm.lock";
  int fd = open(lock_path.c_str(), O_CREAT | O_RDWR, 0644);
  if (fd < 0) return ::testing::AssertionFailure() << "cannot open " << lock_path;
  flock(fd, LOCK_EX);
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  if (!OpenAiInstalled()) {
    CommandResult r =
        Run("cd '" + kTestDir + "' && timeout 300 npm ci --no-audit --no-fund --loglevel=error");
    if (r.exit_code != 0 || !OpenAiInstalled()) {
      result = ::testing::AssertionFailure() << "npm ci failed in " << kTestDir << ":\n"
                                             << r.output;
    }
  }
  flock(fd, LOCK_UN);
  close(fd);
  return result;
}

void RunNodeTest(const std::string& file) {
  ASSERT_TRUE(EnsureNodeModules());
  const std::string bin = kBuildDir + "/kvserve";
  ASSERT_TRUE(fs::exists(bin)) << bin;
  const std::string command = "cd '" + kTestDir + "' && KVSERVE_BIN='" + bin + "' KVSERVE_MODEL='" +
                              kSharedDir + "/models/stories260K.bin' KVSERVE_TOKENIZER='" +
                              kSharedDir + "/models/tok512.bin' KVSERVE_SHARED='" + kSharedDir +
                              "' timeout 600 node --test " + file;
  CommandResult r = Run(command);
  EXPECT_EQ(r.exit_code, 0) << "node --test " << file << " failed:\n" << r.output;
  // Summary lines in the CTest log, even on success.
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("ok ", 0) == 0 || line.rfind("not ok ", 0) == 0 || line.rfind("# \\#", 0) == 0) {
      std::printf("  %s\n", line.c_str());
    }
  }
}

// Chat and completions, streaming and not, stop, seeds, logprobs, cached
// tokens, greedy text equal to `kvserve generate`.
TEST(ServerE2eTest, OpenAiClient) { RunNodeTest("client.test.mjs"); }
// Every class of bad input (400, 401, 404, 413, 429, 503), each followed by
// a good request.
TEST(ServerE2eTest, BadInput) { RunNodeTest("errors.test.mjs"); }
// 8 streams dropped mid-generation -> blocks back to 0; SIGTERM mid-stream.
TEST(ServerE2eTest, Disconnect) { RunNodeTest("disconnect.test.mjs"); }
// 32 simultaneous streaming clients get their greedy text.
TEST(ServerE2eTest, Concurrency) { RunNodeTest("concurrency.test.mjs"); }
// Two API keys never share cached prompt blocks.
TEST(ServerE2eTest, Tenants) { RunNodeTest("tenants.test.mjs"); }
// Hostile clients: /metrics auth, WWW-Authenticate, priority clamping.
TEST(ServerE2eTest, Hostile) { RunNodeTest("hostile.test.mjs"); }
// The front end's limits: head bytes/fields 431, head deadline, keep-alive
// timeout, --max-connections 503, body counted on the wire, a leaving
// non-streaming client aborted, 100-continue.
TEST(ServerE2eTest, FrontEndLimits) { RunNodeTest("front.test.mjs"); }

}  // namespace
// Llama-3- and Qwen-shaped files with their real vocabularies and templates:
// the chat call renders the file's template (as Python's jinja2 does), ends
// at the family's end-of-turn token, /tokenize uses the file's tokenizer.
TEST(ServerE2eTest, Families) { RunNodeTest("families.test.mjs"); }
// The client x feature table of the API: openai, the AI SDK and LangChain
// (tools named/required/auto/streamed, json_object/json_schema/objects, n,
// logit_bias, batched prompts, embeddings, a 400 for an unsupported field).
TEST(ServerE2eTest, Clients) { RunNodeTest("clients.test.mjs"); }
// The web page in headless Chromium (Debian chromium, playwright-core): no
// console errors, a streamed reply, stop -> the abort counter rises, the
// block map moves and shows two chats' shared system prompt, --api-key.
TEST(ServerE2eTest, WebPage) {
  ASSERT_TRUE(fs::exists("/usr/bin/chromium") || std::getenv("CHROMIUM") != nullptr)
      << "the web page test needs Chromium: `make deps` installs the Debian package chromium "
         "(or set CHROMIUM to a Chromium binary)";
  RunNodeTest("web.test.mjs");
}

}  // namespace kvs::server_e2e_test
