// What every long-running kvserve server process (serve, either worker
// role, router) sets up before it starts a thread.
#pragma once

#include <signal.h>
#include <sys/resource.h>

namespace kvs::tools {

// Blocks SIGINT and SIGTERM in this thread and every thread started from it
// (the caller's signal thread picks them up with sigwait: no work in a
// handler, no global flag) and returns that set. SIGPIPE is ignored: a peer
// that hangs up must cost a failed write, not the process. Each connection
// is a descriptor: the soft limit is raised to the hard one (the servers'
// --max-connections refuse the rest cleanly).
inline sigset_t SetUpServerProcess() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  return signals;
}

}  // namespace kvs::tools
