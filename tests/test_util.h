// Helpers shared by the end-to-end tests: paths of shared data, running the
// kvserve binary, reading golden files.
#pragma once

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/ids.h"

namespace kvs::testing {

// Greedy's choice: the highest of logits[0, n_vocab), the lowest id on ties
// (as the sampler's).
inline TokenId Argmax(const float* logits, int n_vocab) {
  TokenId best = 0;
  for (TokenId v = 1; v < n_vocab; ++v) {
    if (logits[v] > logits[best]) best = v;
  }
  return best;
}

inline std::string SharedPath(const std::string& rel) { return std::string(KVS_SHARED_DIR) + "/" + rel; }
inline std::string KvserveBinary() { return std::string(KVS_BUILD_DIR) + "/kvserve"; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout only
};

// Runs a shell command line, capturing stdout (stderr goes to a file the
// caller can name in the command, or to the test log).
inline CommandResult RunCommand(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Whether /usr/bin/python3, the test oracles' interpreter, imports
// `modules` ("zmq, msgpack"); `make deps` installs their Debian packages.
inline bool PythonImports(const std::string& modules) {
  return RunCommand("/usr/bin/python3 -c 'import " + modules + "' 2>/dev/null").exit_code == 0;
}

inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// A bash fragment that starts `kvserve serve -m MODEL ARGS` in the background
// on a free port (--port 0), its output in `log`, and waits for its ready
// line: $pid and $port are set after it ($port empty if it never came up).
// Scripts then curl localhost:$port and end with `kill $pid; wait $pid`.
inline std::string ServeInBackground(const std::string& model, const std::string& log,
                                     const std::string& args = "") {
  return "set -u; " + KvserveBinary() + " serve -m " + Quote(model) + " --port 0 " + args +
         " > " + Quote(log) + " 2>&1 & pid=$!; port=; for i in $(seq 300); do port=$(sed -n " +
         "'s/.*ready on http:\\/\\/[0-9.]*:\\([0-9]*\\).*/\\1/p' " + Quote(log) +
         "); [ -n \"$port\" ] && break; sleep 0.1; done; ";
}

// A golden case from ../shared/golden: prompt ids (BOS first) and generated ids.
struct Golden {
  std::string name;
  std::string prompt;
  std::string text;  // run.c's stdout
  std::vector<int> prompt_ids;
  std::vector<int> generated_ids;
};

inline std::vector<int> ParseIds(const std::string& line) {
  std::vector<int> ids;
  std::istringstream in(line.substr(line.find(':') + 1));
  int id;
  while (in >> id) ids.push_back(id);
  return ids;
}

inline Golden LoadGolden(const std::string& name, const std::string& prompt) {
  Golden g;
  g.name = name;
  g.prompt = prompt;
  g.text = ReadFile(SharedPath("golden/" + name + ".txt"));
  std::istringstream in(ReadFile(SharedPath("golden/" + name + ".ids")));
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  g.prompt_ids = ParseIds(l1);
  g.generated_ids = ParseIds(l2);
  return g;
}

inline std::vector<Golden> AllGoldens() {
  return {LoadGolden("once_upon_a_time", "Once upon a time"), LoadGolden("the_cat", "The cat")};
}

}  // namespace kvs::testing
