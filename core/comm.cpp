#include "core/comm.hpp"

#include <cstdlib>

#include "core/error.hpp"

#if BITBENCH_HAVE_MPI
#include <mpi.h>
#endif

namespace bb::comm {

#if BITBENCH_HAVE_MPI

namespace {
bool g_started = false;  // this process called MPI_Init (mpirun, or a singleton)

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error::runtime("MPI", std::string(what) + " failed (code " + std::to_string(rc) + ")");
}

template <class T>
std::vector<T> gather_impl(const std::vector<T>& local, MPI_Datatype type) {
  if (size() == 1) return local;
  const int n = static_cast<int>(local.size());
  std::vector<int> counts(is_root() ? static_cast<size_t>(size()) : 0), displs(counts.size());
  check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<T> out;
  if (is_root()) {
    int64_t total = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      displs[i] = static_cast<int>(total);
      total += counts[i];
    }
    out.resize(static_cast<size_t>(total));
  }
  check(MPI_Gatherv(local.data(), n, type, out.data(), counts.data(), displs.data(), type, 0, MPI_COMM_WORLD),
        "MPI_Gatherv");
  return out;
}
}  // namespace

void init(int* argc, char*** argv) {
  // Only under a launcher: a plain `bitbench ...` must not pay MPI's start-up
  // (or need its daemons). OpenMPI, MPICH and Slurm set one of these.
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE") && !std::getenv("PMIX_RANK")) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  g_started = true;
}

void finalize() {
  if (g_started) MPI_Finalize();
  g_started = false;
}

void abort_all(int code) {
  if (g_started && size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

bool built_with_mpi() { return true; }

int rank() {
  if (!g_started) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  if (!g_started) return 1;
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

void barrier() {
  if (size() > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void allreduce_sum(double* v, int64_t n) {
  if (size() > 1) check(MPI_Allreduce(MPI_IN_PLACE, v, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}
void allreduce_sum(float* v, int64_t n) {
  if (size() > 1) check(MPI_Allreduce(MPI_IN_PLACE, v, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}
void allreduce_sum(int64_t* v, int64_t n) {
  if (size() > 1) check(MPI_Allreduce(MPI_IN_PLACE, v, static_cast<int>(n), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}
int allreduce_max(int v) {
  if (size() > 1) check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return v;
}

std::vector<float> gather_to_root(const std::vector<float>& local) { return gather_impl(local, MPI_FLOAT); }
std::vector<int> gather_to_root(const std::vector<int>& local) { return gather_impl(local, MPI_INT); }
std::vector<double> gather_to_root(const std::vector<double>& local) { return gather_impl(local, MPI_DOUBLE); }

std::vector<std::string> allgather(const std::string& local) {
  if (size() == 1) return {local};
  const int n = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<size_t>(size())), displs(counts.size());
  check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  int total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    displs[i] = total;
    total += counts[i];
  }
  std::string all(static_cast<size_t>(total), '\0');
  check(MPI_Allgatherv(local.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, MPI_COMM_WORLD),
        "MPI_Allgatherv");
  std::vector<std::string> out;
  for (size_t i = 0; i < counts.size(); ++i) out.push_back(all.substr(static_cast<size_t>(displs[i]), static_cast<size_t>(counts[i])));
  return out;
}

#else  // a single process

void init(int*, char***) {}
void finalize() {}
void abort_all(int code) { std::exit(code); }
bool built_with_mpi() { return false; }
int rank() { return 0; }
int size() { return 1; }
void barrier() {}
void allreduce_sum(double*, int64_t) {}
void allreduce_sum(float*, int64_t) {}
void allreduce_sum(int64_t*, int64_t) {}
int allreduce_max(int v) { return v; }
std::vector<float> gather_to_root(const std::vector<float>& local) { return local; }
std::vector<int> gather_to_root(const std::vector<int>& local) { return local; }
std::vector<double> gather_to_root(const std::vector<double>& local) { return local; }
std::vector<std::string> allgather(const std::string& local) { return {local}; }

#endif

}  // namespace bb::comm
