#include "io/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace kvs {
namespace {

std::string MappedTempPath(const std::string& name) {
  return std::string(KVS_BUILD_DIR) + "/io_mapped_file_test_" + name;
}

TEST(MappedFileTest, MapsContents) {
  const std::string path = MappedTempPath("contents");
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

// Dropped pages read back the file's bytes (they must not come back as
// zeros, as an anonymous mapping's would), whatever the range's alignment,
// and a range reaching outside the mapping is clipped.
TEST(MappedFileTest, DroppedPagesReadBackTheFile) {
  const std::string path = MappedTempPath("drop");
  std::string bytes(5 * 4096 + 123, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + i % 26);
  {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const uint8_t* d = (*file)->data();
  auto contents = [&] { return std::string(reinterpret_cast<const char*>(d), (*file)->size()); };
  ASSERT_EQ(contents(), bytes);
  (*file)->DropPages(d + 100, 3 * 4096);
  EXPECT_EQ(contents(), bytes);
  (*file)->DropPages(d, bytes.size() + 16384);
  EXPECT_EQ(contents(), bytes);
  std::remove(path.c_str());
}

TEST(MappedFileTest, EmptyFile) {
  const std::string path = MappedTempPath("empty");
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
