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
  bool quiet = false, pure = false, dry_run = false;
  CLI::App app{"Convert a model to GGUF (matrices in --type's mix, norms in F32)", "kvserve convert"};
  app.add_option("-i,--input", input, "model: llama2.c checkpoint or GGUF")->required();
  app.add_option("--tokenizer", tokenizer,
                 "llama2.c tokenizer file (required for a llama2.c checkpoint)");
  app.add_option("-o,--output", output, "GGUF file to write (not needed with --dry-run)");
  app.add_option("--type", type_name,
                 "f32, f16, bf16, or llama-quantize's mix of that name: q2_k, q3_k_s/m/l, q4_k_s/m, "
                 "q5_k_s/m, q6_k, q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl, iq4_xs (q3_k/q4_k/q5_k: the _m mixes)");
  app.add_flag("--pure", pure, "every matrix in --type's base type (as llama-quantize --pure)");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  app.add_flag("--dry-run", dry_run,
               "print each tensor's name and the type it would get, one per line; write nothing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::optional<QuantMix> mix = QuantMix::FromName(type_name);
  if (!mix) {
    std::fprintf(stderr, "kvserve convert: unknown --type '%s'\n", type_name.c_str());
    return 2;
  }
  if (pure) mix = mix->AsPure();
  auto in = Model::Load(input, tokenizer);
  if (!in.ok()) {
    std::fprintf(stderr, "kvserve convert: %s\n", in.status().ToString().c_str());
    return 1;
  }
  if (dry_run) {
    const std::vector<DType> types = PlanTensorTypes(**in, *mix);
    for (size_t i = 0; i < types.size(); ++i) {
      std::printf("%s %s\n", (*in)->file().tensors()[i].name.c_str(), std::string(DTypeName(types[i])).c_str());
    }
    return 0;
  }
  if (output.empty()) {
    std::fprintf(stderr, "kvserve convert: -o FILE is required\n");
    return 2;
  }
  // Live progress on a terminal; otherwise only the final count.
  const bool live = isatty(STDERR_FILENO) != 0;
  auto progress = [&](size_t done, size_t total, uint64_t bytes) {
    if (quiet || (!live && done != total)) return;
    std::fprintf(stderr, "%skvserve convert: %zu/%zu tensors, %.1f MiB", live ? "\r" : "", done, total,
                 bytes / 1048576.0);
    if (done == total) std::fprintf(stderr, "\n");
  };
  Status s = ConvertToGguf(**in, output, *mix, progress);
  if (!s.ok()) {
    std::fprintf(stderr, "kvserve convert: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!quiet) std::fprintf(stderr, "kvserve convert: wrote %s\n", output.c_str());
  return 0;
}

}  // namespace kvs::tools
