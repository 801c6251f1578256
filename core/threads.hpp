#pragma once
// One place that decides how many threads compute uses. oneDNN in Debian uses
// the OpenMP runtime, so setting OpenMP's count sets oneDNN's too.
namespace bb {

// Cores available to this process (affinity mask aware).
int hardware_threads();
// n <= 0 means all available cores. Returns the count now in force.
int set_num_threads(int n);
// The count set last (all cores until set_num_threads is called).
int num_threads();

// The precedence rule of every subcommand: the command line's --threads, once
// given, wins over a config's "threads" (0 = all cores).
void set_threads_from_command_line(int n);  // sets the count and remembers it was given
bool threads_given_on_command_line();
// Sets the config's count unless the command line gave one; returns the count in force.
int apply_config_threads(int config_threads);

// A worker of a data-parallel region runs its share on this many threads
// (usually 1): num_threads() and set_num_threads() on this thread see and set
// its own count for the scope, not the process's (ThreadCountGuard inside a
// kernel stays on the worker's own count, so workers never write shared state).
class WorkerThreadCount {
 public:
  explicit WorkerThreadCount(int n);
  ~WorkerThreadCount();
  WorkerThreadCount(const WorkerThreadCount&) = delete;
  WorkerThreadCount& operator=(const WorkerThreadCount&) = delete;

 private:
  int saved_;
};

// Sets a thread count for a scope and restores the previous one at its end.
class ThreadCountGuard {
 public:
  explicit ThreadCountGuard(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadCountGuard() { set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};

}  // namespace bb

#include <cstdint>
#include <functional>

namespace bb {

// Runs fn(i, worker) for i in [0, n) on `workers` threads (contiguous chunks,
// worker 0 is the calling thread). The first exception thrown by any call is
// rethrown here after all threads have stopped; the others stop early.
void parallel_for(int64_t n, int workers, const std::function<void(int64_t i, int worker)>& fn);

}  // namespace bb
