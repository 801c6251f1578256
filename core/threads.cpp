#include "core/threads.hpp"

#include <omp.h>
#include <sched.h>

#include <atomic>
#include <thread>

namespace bb {
namespace {
std::atomic<int> g_threads{0};
std::atomic<bool> g_from_command_line{false};
thread_local int t_worker_threads = 0;  // > 0 inside a WorkerThreadCount scope
}

int hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

int set_num_threads(int n) {
  if (n <= 0) n = hardware_threads();
  omp_set_num_threads(n);
  if (t_worker_threads > 0) {
    t_worker_threads = n;
    return n;
  }
  g_threads = n;
  return n;
}

int num_threads() {
  if (t_worker_threads > 0) return t_worker_threads;
  int n = g_threads.load();
  return n > 0 ? n : hardware_threads();
}

WorkerThreadCount::WorkerThreadCount(int n) : saved_(t_worker_threads) {
  t_worker_threads = n > 0 ? n : 1;
  omp_set_num_threads(t_worker_threads);
}

WorkerThreadCount::~WorkerThreadCount() {
  t_worker_threads = saved_;
  omp_set_num_threads(num_threads());
}

void set_threads_from_command_line(int n) {
  set_num_threads(n);
  g_from_command_line = true;
}

bool threads_given_on_command_line() { return g_from_command_line.load(); }

int apply_config_threads(int config_threads) {
  return threads_given_on_command_line() ? num_threads() : set_num_threads(config_threads);
}

}  // namespace bb

#include <exception>
#include <mutex>
#include <vector>

namespace bb {

void parallel_for(int64_t n, int workers, const std::function<void(int64_t, int)>& fn) {
  if (n <= 0) return;
  if (workers < 1) workers = 1;
  if (workers > n) workers = static_cast<int>(n);
  std::atomic<bool> failed{false};
  std::exception_ptr first;
  std::mutex mu;
  auto run = [&](int w) {
    int64_t begin = n * w / workers, end = n * (w + 1) / workers;
    try {
      for (int64_t i = begin; i < end && !failed.load(std::memory_order_relaxed); ++i) fn(i, w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!first) first = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(run, w);
  run(0);
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace bb
