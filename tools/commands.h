// Entry points of kvserve's subcommands, one per tools/cmd_*.cc. Each takes
// argv with the subcommand name at argv[0] and returns the exit status.
#pragma once

namespace kvs::tools {

int RunGenerate(int argc, char** argv);
int RunServe(int argc, char** argv);
int RunRouter(int argc, char** argv);
int RunBatch(int argc, char** argv);
int RunLoadgen(int argc, char** argv);
int RunInspect(int argc, char** argv);
int RunConvert(int argc, char** argv);
int RunMakeModel(int argc, char** argv);
int RunBench(int argc, char** argv);

}  // namespace kvs::tools
