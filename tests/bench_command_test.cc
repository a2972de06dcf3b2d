// `kvserve bench --backend` and `--isa`: each names a kernel path the run
// then reports, and a name it does not know is refused with exit 2 rather
// than read as the default path (a bare `--backend cpu:avx2` once was).
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace kvs::bench_command_test {
namespace {

using testing::KvserveBinary;
using testing::RunCommand;
using testing::SharedPath;

testing::CommandResult Bench(const std::string& flags) {
  return RunCommand(KvserveBinary() + " bench -m " + SharedPath("models/stories260K.bin") + " --tokenizer " +
                    SharedPath("models/tok512.bin") + " -p 8 -n 0 -r 1 -t 1 --json " + flags + " 2>&1");
}

TEST(BenchCommandTest, BackendNamesAKernelPathOrIsRefused) {
  // Scalar runs on every CPU, so the pinned path is checked everywhere.
  for (const char* flags : {"--backend cpu:scalar", "--isa scalar"}) {
    const auto r = Bench(flags);
    EXPECT_EQ(r.exit_code, 0) << flags << ": " << r.out;
    EXPECT_NE(r.out.find("\"backend\": \"cpu-scalar\""), std::string::npos) << flags << ": " << r.out;
  }
  const auto ref = Bench("--backend reference");
  EXPECT_EQ(ref.exit_code, 0) << ref.out;
  EXPECT_NE(ref.out.find("\"backend\": \"reference\""), std::string::npos) << ref.out;
  const auto unknown = Bench("--backend cpu:sse9");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown backend 'cpu:sse9'"), std::string::npos) << unknown.out;
  const auto both = Bench("--isa scalar --backend cpu:avx2");
  EXPECT_EQ(both.exit_code, 2) << both.out;
  EXPECT_NE(both.out.find("give --isa or --backend cpu:avx2, not both"), std::string::npos) << both.out;
}

}  // namespace
}  // namespace kvs::bench_command_test
