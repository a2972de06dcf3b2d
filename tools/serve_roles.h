// The disaggregated roles of `kvserve serve` (--role prefill | decode):
// their flags, the decode worker's KV service and /kvs/info, and the whole
// prefill worker (which runs no engine loop and serves no completions).
#pragma once

#include <signal.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "disagg/decode_service.h"
#include "model/model.h"
#include "server/openai_server.h"
#include "server/server_config.h"
#include "tools/engine_flags.h"

namespace kvs::tools {

struct RoleOptions {
  std::string role = "both";  // both | prefill | decode
  std::string transport = "tcp";
  std::string kv_host = "127.0.0.1";  // decode: where the KV port listens
  int kv_port = 0;                    // decode: 0 any free port (printed)
  std::vector<std::string> kv_peers;  // prefill: decode workers' KV host:port
  std::string name;                   // "": role-hostname-pid
};

void AddRoleFlags(CLI::App* app, RoleOptions* opt);
// The worker's name: opt.name, else "<role>-<hostname>-<pid>".
std::string WorkerName(const RoleOptions& opt);

// Decode role: the service that pairs with prefill workers (the engine
// loop's ImportHub). Prints the KV port.
StatusOr<std::unique_ptr<DecodeService>> StartDecodeService(const RoleOptions& opt,
                                                            const Model& model,
                                                            KvStorage* storage);
// /metrics and /kvs/info of a decode worker (service and engine borrowed).
server::WorkerHooks DecodeHooks(const RoleOptions& opt, const DecodeService* service,
                                const EngineLoop* engine);

// Prefill role: loads nothing more than `model`, connects to the decode
// workers and serves /health, /metrics and /kvs/info until one of `signals`
// (SetUpServerProcess's, blocked) arrives.
int ServePrefill(const RoleOptions& opt, const Model& model, const EngineFlags& engine,
                 const server::ServerConfig& server, sigset_t signals);

}  // namespace kvs::tools
