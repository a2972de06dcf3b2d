// `kvserve serve --kv-events-endpoint ... --prefix-hash sha256_cbor` end to
// end, as a router sees it: tests/scaleout_serve_check.py (prometheus_client's
// parser, pyzmq, msgpack, cbor2; nothing shared with kvserve) sends two
// completions sharing a prefix, checks the vllm:* families of /metrics and
// their values, and finds the prompts' blocks in the published KV events by
// hashing the token ids itself.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "loadgen/server_process.h"
#include "test_util.h"

namespace kvs::scaleout_serve_test {
namespace {

TEST(ScaleoutServeTest, MetricsAndKvEventsAsARouterSeesThem) {
  ASSERT_TRUE(testing::PythonImports("zmq, msgpack, cbor2, prometheus_client"))
      << "`make deps` installs python3-zmq, -msgpack, -cbor2 and -prometheus-client";
  const std::string log = ::testing::TempDir() + "scaleout_serve_" + std::to_string(::getpid());
  auto server = loadgen::ServerProcess::Start(
      {testing::KvserveBinary(), "serve", "-m", testing::SharedPath("models/stories260K.bin"),
       "--tokenizer", testing::SharedPath("models/tok512.bin"), "--host", "127.0.0.1", "--port",
       "0", "-t", "1", "--metrics-public", "--prefix-hash", "sha256_cbor", "--kv-events-endpoint",
       "tcp://127.0.0.1:*"},
      log);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::smatch url, events;
  std::string text;
  for (int i = 0; i < 300; ++i) {
    text = testing::ReadFile(log);
    if (std::regex_search(text, url, std::regex("ready on (http://[0-9.]+:[0-9]+)"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(url.size() == 2) << text;
  // The startup line names the kernel path the CPU got.
  EXPECT_TRUE(std::regex_search(text, std::regex("auth off, backend cpu-(scalar|avx2|avx512|amx)"))) << text;
  ASSERT_TRUE(std::regex_search(text, events, std::regex("KV events on (tcp://[0-9.]+:[0-9]+)")))
      << text;
  const auto r = testing::RunCommand("/usr/bin/python3 " + std::string(KVS_SOURCE_DIR) +
                                     "/tests/scaleout_serve_check.py " + url[1].str() + " " +
                                     events[1].str() + " 2>&1");
  (*server)->Stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("prompt blocks found by hash: 6"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kvs::scaleout_serve_test
