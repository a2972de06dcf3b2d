#include "io/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace kvs {
namespace {

std::string TempPath(const std::string& name) {
  return std::string(KVS_BUILD_DIR) + "/io_mapped_file_test_" + name;
}

TEST(MappedFileTest, MapsContents) {
  const std::string path = TempPath("contents");
  {
    std::ofstream out(path, std::ios::binary);
    out << "hello, mapping";
  }
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*file)->data()), (*file)->size()),
            "hello, mapping");
  EXPECT_EQ((*file)->path(), path);
  std::remove(path.c_str());
}

TEST(MappedFileTest, EmptyFile) {
  const std::string path = TempPath("empty");
  { std::ofstream out(path, std::ios::binary); }
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->size(), 0u);
  EXPECT_EQ((*file)->data(), nullptr);
  std::remove(path.c_str());
}

TEST(MappedFileTest, MissingFileNamesPathAndReason) {
  auto file = MappedFile::Open("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kNotFound);
  EXPECT_NE(file.status().message().find("/nonexistent/dir/model.gguf"), std::string::npos);
  EXPECT_NE(file.status().message().find("No such file"), std::string::npos);
}

TEST(MappedFileTest, DirectoryIsRejected) {
  auto file = MappedFile::Open("/tmp");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("/tmp"), std::string::npos);
}

}  // namespace
}  // namespace kvs
