// Compares kvserve's DequantizeRow with ggml's own dequantization
// (ggml_get_type_traits(type)->to_float, from a native llama.cpp build) on
// every tensor of GGUF files, bit for bit. Built and run by
// bench/compare_ggml_dequant.sh; not part of the CMake build (it links
// llama.cpp's libggml-base). Prints one line per file and type: tensors,
// values and mismatching values; exits 1 on any mismatch.
//
// --error REF.gguf: instead prints, per file, the relative RMS error of its
// quantized matrices against the same tensors of REF (F32): how close a
// quantizer (ours through kvserve convert, llama-quantize's) gets.
//
// --fixture: instead prints, per file, the first block of its first
// quantized matrix (hex), the FNV-1a hash of ggml's decoded float bits and
// its first values: the data of src/tensor/quant_fixtures_test.cc.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ggml.h"
#include "gguf.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

uint64_t Fnv1a(const void* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 0x100000001b3ull;
  return h;
}

struct Mapped {
  gguf_context* ctx = nullptr;
  const uint8_t* base = nullptr;
  size_t size = 0;
};
Mapped Map(const char* path) {
  Mapped m;
  gguf_init_params params = {/*no_alloc=*/true, /*ctx=*/nullptr};
  m.ctx = gguf_init_from_file(path, params);
  if (m.ctx == nullptr) return m;
  const int fd = open(path, O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  m.size = st.st_size;
  m.base = static_cast<const uint8_t*>(mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0));
  close(fd);
  return m;
}
std::vector<float> Decode(const Mapped& m, int64_t i) {
  const ggml_type type = gguf_get_tensor_type(m.ctx, i);
  const int64_t* ne = gguf_get_tensor_ne(m.ctx, i);
  const int64_t n = ne[0] * ne[1] * ne[2] * ne[3];
  std::vector<float> y(n);
  const uint8_t* t = m.base + gguf_get_data_offset(m.ctx) + gguf_get_tensor_offset(m.ctx, i);
  if (type == GGML_TYPE_F32) {
    std::memcpy(y.data(), t, n * sizeof(float));
  } else {
    ggml_get_type_traits(type)->to_float(t, y.data(), n);
  }
  return y;
}

int ErrorMode(int argc, char** argv) {
  const Mapped ref = Map(argv[2]);
  if (ref.ctx == nullptr) return 2;
  for (int a = 3; a < argc; ++a) {
    const Mapped q = Map(argv[a]);
    if (q.ctx == nullptr) return 2;
    double num = 0, den = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(q.ctx); ++i) {
      if (gguf_get_tensor_type(q.ctx, i) == GGML_TYPE_F32) continue;
      const int64_t j = gguf_find_tensor(ref.ctx, gguf_get_tensor_name(q.ctx, i));
      if (j < 0) continue;
      const std::vector<float> x = Decode(ref, j), y = Decode(q, i);
      for (size_t k = 0; k < x.size(); ++k) num += (double(x[k]) - y[k]) * (double(x[k]) - y[k]), den += double(x[k]) * x[k];
    }
    std::printf("%s: relative RMS error of the quantized matrices %.4f\n", argv[a], std::sqrt(num / den));
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--error") == 0) return ErrorMode(argc, argv);
  int failures = 0;
  const bool fixture = argc > 1 && std::strcmp(argv[1], "--fixture") == 0;
  for (int a = fixture ? 2 : 1; a < argc; ++a) {
    const char* path = argv[a];
    gguf_init_params params = {/*no_alloc=*/true, /*ctx=*/nullptr};
    gguf_context* ctx = gguf_init_from_file(path, params);
    if (ctx == nullptr) {
      std::fprintf(stderr, "%s: ggml cannot read it\n", path);
      return 2;
    }
    const int fd = open(path, O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    const auto* base = static_cast<const uint8_t*>(mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0));
    const size_t data = gguf_get_data_offset(ctx);
    struct Count { int64_t tensors = 0, values = 0, mismatches = 0; };
    std::map<std::string, Count> counts;
    std::vector<float> want, got;
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx); ++i) {
      const ggml_type type = gguf_get_tensor_type(ctx, i);
      const int64_t* ne = gguf_get_tensor_ne(ctx, i);
      const int64_t cols = ne[0], rows = ne[1] * ne[2] * ne[3];
      const auto kvs_type = kvs::DTypeFromGgml(static_cast<uint32_t>(type));
      Count& c = counts[ggml_type_name(type)];
      if (!kvs_type) {
        std::fprintf(stderr, "%s: %s is %s, which kvserve does not read\n", path, gguf_get_tensor_name(ctx, i),
                     ggml_type_name(type));
        ++failures;
        continue;
      }
      const uint8_t* t = base + data + gguf_get_tensor_offset(ctx, i);
      if (fixture) {
        if (ggml_blck_size(type) == 1 || c.tensors > 0) continue;
        ++c.tensors;
        const int64_t n = ggml_blck_size(type);
        std::vector<float> y(n);
        ggml_get_type_traits(type)->to_float(t, y.data(), n);
        std::printf("{\"%s\", \"", ggml_type_name(type));
        for (size_t b = 0; b < ggml_type_size(type); ++b) std::printf("%02x", t[b]);
        std::printf("\", 0x%016llxull, {%.9g, %.9g, %.9g}},  // %s\n",
                    static_cast<unsigned long long>(Fnv1a(y.data(), n * sizeof(float))), y[0], y[1], y[n - 1],
                    gguf_get_tensor_name(ctx, i));
        continue;
      }
      const size_t row_bytes = ggml_row_size(type, cols);
      want.resize(cols), got.resize(cols);
      ++c.tensors;
      for (int64_t r = 0; r < rows; ++r) {
        if (type == GGML_TYPE_F32) {  // ggml has no to_float for its own storage type
          std::memcpy(want.data(), t + r * row_bytes, cols * sizeof(float));
        } else {
          ggml_get_type_traits(type)->to_float(t + r * row_bytes, want.data(), cols);
        }
        kvs::DequantizeRow(*kvs_type, t + r * row_bytes, got.data(), cols);
        for (int64_t j = 0; j < cols; ++j) c.mismatches += std::memcmp(&want[j], &got[j], 4) != 0;
        c.values += cols;
      }
    }
    for (const auto& [name, c] : counts) {
      std::printf("%s %s: %lld tensors, %lld values, %lld differ\n", path, name.c_str(),
                  static_cast<long long>(c.tensors), static_cast<long long>(c.values),
                  static_cast<long long>(c.mismatches));
      failures += c.mismatches != 0;
    }
    munmap(const_cast<uint8_t*>(base), st.st_size);
    close(fd);
    gguf_free(ctx);
  }
  return failures == 0 ? 0 : 1;
}
