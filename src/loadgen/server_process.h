// ServerProcess: a `kvserve serve` (or any server binary) that the load
// generator starts itself, for ablations that restart the server with
// different flags and for end-to-end tests.
//
// Ownership: owns the child process; the destructor stops it (SIGTERM, then
// SIGKILL after a grace period) and reaps it, so no run leaves a server
// behind. Thread-safety: none; use from one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace kvs::loadgen {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released; the small race with other programs is acceptable for tests).
StatusOr<int> PickFreeLoopbackPort();

class ServerProcess {
 public:
  // argv[0] is the binary's path. stdout and stderr go to log_path.
  static StatusOr<std::unique_ptr<ServerProcess>> Start(const std::vector<std::string>& argv,
                                                        const std::string& log_path);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int pid() const { return pid_; }
  // True while the child has not exited (reaps it if it has).
  bool Running();
  // How it ended, once it has: "exit N" or "signal N"; "" while running.
  const std::string& exit_description() const { return exit_description_; }
  // SIGTERM, wait up to grace_s, then SIGKILL. Idempotent.
  void Stop(double grace_s = 5);

 private:
  explicit ServerProcess(int pid) : pid_(pid) {}
  void Reaped(int wait_status);

  int pid_;
  bool exited_ = false;
  std::string exit_description_;
};

}  // namespace kvs::loadgen
