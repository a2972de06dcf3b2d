// kvserve inspect FILE: prints a model file's metadata (arrays abbreviated)
// and its tensor table (name, type, dims, offset, bytes). Reads GGUF and
// llama2.c checkpoints; exits 1 with the reader's message on a bad file.
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "io/gguf_reader.h"
#include "io/llama2c_reader.h"
#include "io/mapped_file.h"
#include "tools/commands.h"

namespace kvs::tools {
namespace {

std::string DimsString(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

void PrintTensors(const std::vector<TensorInfo>& tensors, const char* offset_origin) {
  uint64_t total = 0;
  for (const TensorInfo& t : tensors) total += t.n_bytes;
  std::printf("\ntensors (%zu, %.2f MiB; dims innermost first; offsets from %s):\n",
              tensors.size(), total / 1048576.0, offset_origin);
  size_t width = 4;
  for (const TensorInfo& t : tensors) width = std::max(width, t.name.size());
  std::printf("  %-*s  %-5s  %-22s  %12s  %12s\n", static_cast<int>(width), "name", "type", "dims",
              "offset", "bytes");
  for (const TensorInfo& t : tensors) {
    std::printf("  %-*s  %-5s  %-22s  %12" PRIu64 "  %12zu\n", static_cast<int>(width),
                t.name.c_str(), std::string(DTypeName(t.type)).c_str(), DimsString(t.dims).c_str(),
                t.offset, t.n_bytes);
  }
}

int InspectGguf(const std::string& path, size_t max_elems) {
  auto file_or = GgufFile::Open(path);
  if (!file_or.ok()) {
    std::fprintf(stderr, "kvserve inspect: %s\n", file_or.status().ToString().c_str());
    return 1;
  }
  const GgufFile& f = **file_or;
  std::printf("%s: GGUF v%u, %zu bytes, alignment %u, data section at offset %" PRIu64 "\n",
              path.c_str(), f.version(), f.file_size(), f.alignment(), f.data_offset());
  std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
  size_t width = 0;
  for (const auto& [key, value] : f.metadata()) width = std::max(width, key.size());
  for (const auto& [key, value] : f.metadata()) {
    std::string type(GgufTypeName(value.type));
    if (value.type == GgufType::kArray) {
      type += "<" + std::string(GgufTypeName(value.elem_type)) + ">[" +
              std::to_string(value.n_elems) + "]";
    }
    std::printf("  %-*s  %-18s  %s\n", static_cast<int>(width), key.c_str(), type.c_str(),
                value.ToString(max_elems).c_str());
  }
  PrintTensors(f.tensors(), "the data section");
  return 0;
}

int InspectLlama2c(const std::string& path) {
  auto mapping = MappedFile::Open(path);
  if (!mapping.ok()) {
    std::fprintf(stderr, "kvserve inspect: %s\n", mapping.status().ToString().c_str());
    return 1;
  }
  auto ckpt = ReadLlama2cCheckpoint(**mapping);
  if (!ckpt.ok()) {
    std::fprintf(stderr, "kvserve inspect: %s\n", ckpt.status().ToString().c_str());
    return 1;
  }
  const Llama2cHeader& hp = ckpt->header;
  std::printf("%s: llama2.c checkpoint, %zu bytes\n\n", path.c_str(), (*mapping)->size());
  std::printf("  dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, n_vocab %d, "
              "seq_len %d, classifier %s\n",
              hp.dim, hp.hidden_dim, hp.n_layers, hp.n_heads, hp.n_kv_heads, hp.vocab_size,
              hp.seq_len, ckpt->shared_classifier ? "shared with token_embd" : "separate");
  PrintTensors(ckpt->tensors, "the start of the file");
  return 0;
}

}  // namespace

int RunInspect(int argc, char** argv) {
  std::string path;
  size_t max_elems = 8;
  CLI::App app{"Print a model file's metadata and tensor table (GGUF or llama2.c)",
               "kvserve inspect"};
  app.add_option("file", path, "model file")->required();
  app.add_option("--max-elems", max_elems, "array elements shown per metadata value");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto mapping = MappedFile::Open(path);
  if (!mapping.ok()) {
    std::fprintf(stderr, "kvserve inspect: %s\n", mapping.status().ToString().c_str());
    return 1;
  }
  const bool is_gguf =
      (*mapping)->size() >= 4 && std::memcmp((*mapping)->data(), "GGUF", 4) == 0;
  mapping->reset();
  return is_gguf ? InspectGguf(path, max_elems) : InspectLlama2c(path);
}

}  // namespace kvs::tools
