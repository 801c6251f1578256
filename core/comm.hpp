#pragma once
// The process group a bitbench command runs in. Built with BITBENCH_MPI and
// started by mpirun, it is MPI's COMM_WORLD; otherwise (or started without
// mpirun) a single process: rank 0 of 1, every collective a no-op. Callers
// write one code path for both.
//
// Collectives are called by every rank in the same order (MPI's rule); the
// reductions are exact for integers, and for floats sum in MPI's order, which
// differs from a single process's by rounding only.
#include <cstdint>
#include <string>
#include <vector>

namespace bb::comm {

// MPI_Init_thread (funneled) when built with MPI; safe to call once, first thing in main.
void init(int* argc, char*** argv);
// MPI_Finalize when init started MPI.
void finalize();
// Ends every rank with this exit code (MPI_Abort), so that one rank's error
// does not leave the others waiting in a collective. Single process: std::exit.
[[noreturn]] void abort_all(int code);

bool built_with_mpi();
int rank();
int size();
inline bool is_root() { return rank() == 0; }

void barrier();
// In place, element-wise sum over ranks; every rank gets the result.
void allreduce_sum(double* v, int64_t n);
void allreduce_sum(float* v, int64_t n);
void allreduce_sum(int64_t* v, int64_t n);
// Element-wise max over ranks (e.g. "any rank was interrupted").
int allreduce_max(int v);
// Rank 0 receives every rank's vector concatenated in rank order; the others get {}.
std::vector<float> gather_to_root(const std::vector<float>& local);
std::vector<int> gather_to_root(const std::vector<int>& local);
std::vector<double> gather_to_root(const std::vector<double>& local);
// Every rank's string, in rank order, on every rank.
std::vector<std::string> allgather(const std::string& local);

// [lo, hi) of n items that rank r of `ranks` takes: contiguous, sizes differ by at most one.
inline void shard_range(int64_t n, int r, int ranks, int64_t* lo, int64_t* hi) {
  *lo = n * r / ranks;
  *hi = n * (r + 1) / ranks;
}

}  // namespace bb::comm
