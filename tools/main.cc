// kvserve: one executable, one subcommand per file (tools/cmd_*.cc).
#include <cstdio>
#include <cstring>
#include <string_view>

#include "tools/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* help;
};

constexpr Command kCommands[] = {
    {"generate", kvs::tools::RunGenerate, "generate text from a prompt"},
    {"serve", kvs::tools::RunServe, "OpenAI-compatible HTTP server"},
    {"router", kvs::tools::RunRouter,
     "OpenAI-compatible front end over disaggregated prefill and decode workers"},
    {"batch", kvs::tools::RunBatch, "offline batch: JSONL prompts through the engine"},
    {"loadgen", kvs::tools::RunLoadgen, "serving load generator: scenarios, latency/throughput report"},
    {"inspect", kvs::tools::RunInspect, "print a model file's metadata and tensor table"},
    {"convert", kvs::tools::RunConvert, "convert a model to GGUF (f32, f16, q8_0, q4_0, ...)"},
    {"make-model", kvs::tools::RunMakeModel, "write a random-weight Llama GGUF at a real shape"},
    {"bench", kvs::tools::RunBench, "prompt-processing and generation speed (like llama-bench)"},
};

void PrintUsage() {
  std::fprintf(stderr, "usage: kvserve COMMAND [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(stderr, "  %-10s %s\n", c.name, c.help);
  std::fprintf(stderr, "\nkvserve COMMAND --help shows a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    PrintUsage();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::string_view(argv[1]) == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "kvserve: unknown command '%s'\n", argv[1]);
  PrintUsage();
  return 2;
}
