// deploy/*.yaml validate offline: deploy/validate_manifests.py checks them
// against schemas for the fields they use and the cross-object rules
// (selectors, ports, probes on /health, the grace period against
// --shutdown-timeout, flags the kvserve binary knows), and must reject a
// broken copy. Also parsed by `kubectl kustomize` when kubectl is installed
// (kubectl's --dry-run=client needs an API server for its schemas).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace kvs::deploy_manifests_test {
namespace {

const std::string kDeploy = std::string(KVS_SOURCE_DIR) + "/deploy";

TEST(DeployManifestsTest, ValidateOffline) {
  ASSERT_TRUE(testing::PythonImports("yaml, jsonschema"))
      << "`make deps` installs python3-yaml and python3-jsonschema";
  const auto r = testing::RunCommand("/usr/bin/python3 " + kDeploy + "/validate_manifests.py " +
                                     kDeploy + " " + testing::KvserveBinary() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("4 objects checked, 0 errors"), std::string::npos) << r.out;
  if (std::system("command -v kubectl >/dev/null 2>&1") == 0) {
    const auto k = testing::RunCommand("kubectl kustomize " + kDeploy + " 2>&1");
    EXPECT_EQ(k.exit_code, 0) << k.out;
    EXPECT_NE(k.out.find("kind: InferencePool"), std::string::npos);
  }
}

TEST(DeployManifestsTest, ValidatorRejectsAGracePeriodShorterThanTheDrain) {
  ASSERT_TRUE(testing::PythonImports("yaml, jsonschema"))
      << "`make deps` installs python3-yaml and python3-jsonschema";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kvs_deploy_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string text = testing::ReadFile(kDeploy + "/kvserve.yaml");
  const std::string from = "terminationGracePeriodSeconds: 45";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "terminationGracePeriodSeconds: 20");
  std::ofstream(dir / "kvserve.yaml") << text;
  const auto r = testing::RunCommand("/usr/bin/python3 " + kDeploy + "/validate_manifests.py " +
                                     dir.string() + " 2>&1");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("terminationGracePeriodSeconds 20"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kvs::deploy_manifests_test
