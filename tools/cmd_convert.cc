// kvserve convert: rewrites a model (llama2.c checkpoint or GGUF) as a GGUF
// file llama.cpp can load, with matrices in the chosen type.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "model/model_converter.h"
#include "model/model.h"
#include "tools/commands.h"

namespace kvs::tools {

int RunConvert(int argc, char** argv) {
  std::string input, tokenizer, output, type_name = "f32";
  bool quiet = false;
  CLI::App app{"Convert a model to GGUF (matrices in --type, norms in F32)", "kvserve convert"};
  app.add_option("-i,--input", input, "model: llama2.c checkpoint or GGUF")->required();
  app.add_option("--tokenizer", tokenizer,
                 "llama2.c tokenizer file (required for a llama2.c checkpoint)");
  app.add_option("-o,--output", output, "GGUF file to write")->required();
  app.add_option("--type", type_name, "f32, f16, bf16, q8_0, q4_0, q4_k or q6_k");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const auto type = DTypeFromName(type_name);
  if (!type) {
    std::fprintf(stderr, "kvserve convert: unknown --type '%s'\n", type_name.c_str());
    return 2;
  }
  auto in = Model::Load(input, tokenizer);
  if (!in.ok()) {
    std::fprintf(stderr, "kvserve convert: %s\n", in.status().ToString().c_str());
    return 1;
  }
  // Live progress on a terminal; otherwise only the final count.
  const bool live = isatty(STDERR_FILENO) != 0;
  auto progress = [&](size_t done, size_t total, uint64_t bytes) {
    if (quiet || (!live && done != total)) return;
    std::fprintf(stderr, "%skvserve convert: %zu/%zu tensors, %.1f MiB", live ? "\r" : "", done, total,
                 bytes / 1048576.0);
    if (done == total) std::fprintf(stderr, "\n");
  };
  Status s = ConvertToGguf(**in, output, *type, progress);
  if (!s.ok()) {
    std::fprintf(stderr, "kvserve convert: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!quiet) std::fprintf(stderr, "kvserve convert: wrote %s\n", output.c_str());
  return 0;
}

}  // namespace kvs::tools
