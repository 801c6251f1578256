#pragma once
// Batches of model inputs: NCHW float images + labels, in a deterministic order.
//
// Order: the epoch's sample order is a permutation drawn from
// Rng(seed, kShuffle, epoch) when shuffling, else index order. `limit` keeps a
// fixed subset of `limit` samples chosen by Rng(seed, kSubset) (kept in index
// order), the same in every epoch. Augmentation of sample i in epoch e draws
// from Rng(seed, kAugment, e, i) — so batches are bit-identical whatever the
// number of workers.
//
// Workers: `workers` threads decode and transform whole batches ahead of the
// consumer into `workers * prefetch` preallocated slots; 0 workers does the
// work in the calling thread. An error in a worker (a corrupt image, say) is
// rethrown by next() for the batch that needed it.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dataset_config.hpp"

namespace bb {

struct LoaderOptions {
  int batch_size = 64;
  int workers = 1;
  int prefetch = 2;  // batches in flight per worker
  bool train = false;  // train transform (augmentation) instead of eval transform
  bool shuffle = false;
  bool drop_last = false;
  int64_t limit = 0;  // 0 = all samples
  bool first = false;  // limit takes the first `limit` samples in file order instead of a seeded subset
  uint64_t seed = 0;
  // This process's part when `ranks` processes share the work (MPI): an eval
  // loader takes a contiguous shard of the samples (rank order = sample
  // order, so gathered results concatenate); a train loader takes a slice of
  // every global batch (same batches, same steps on every rank).
  int rank = 0, ranks = 1;
};

struct Batch {
  TensorView images;            // [n, C, S, S]
  std::vector<int> labels;      // [n]
  std::vector<int64_t> indices; // [n] data set indices
  int64_t index = 0;            // batch number within the epoch
  int size() const { return static_cast<int>(labels.size()); }
};

// The fixed subset `limit` keeps: `limit` of [0, n) drawn by Rng(seed, kSubset),
// in index order; all of [0, n) when limit is 0 or at least n.
std::vector<int64_t> seeded_subset(int64_t n, int64_t limit, uint64_t seed);

class Loader {
 public:
  Loader(const Dataset& ds, TransformConfig t, AugmentConfig a, LoaderOptions o);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Samples per epoch: this rank's shard for eval, the global count for train.
  int64_t num_samples() const { return static_cast<int64_t>(subset_.size()); }
  int64_t num_batches() const;
  const std::vector<int64_t>& subset() const { return subset_; }
  int ranks() const { return o_.ranks; }

  // Starts epoch e (abandoning any batches of the previous epoch not consumed)
  // at batch first_batch: a resumed run skips what it already trained on
  // without decoding it.
  void start_epoch(int epoch, int64_t first_batch = 0);
  // The next batch, valid until the next call; nullptr at the end of the epoch.
  const Batch* next();

 private:
  struct Slot {
    Tensor images;
    Batch batch;
    int64_t ready = -1;  // batch number held, once complete
    std::exception_ptr error;
  };
  void fill(Slot& s, int64_t b, int epoch);
  void worker_loop();
  void stop_workers();

  const Dataset& ds_;
  TransformConfig t_;
  AugmentConfig a_;
  LoaderOptions o_;
  std::vector<int64_t> subset_, order_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  int epoch_ = -1;
  int64_t next_produce_ = 0, next_consume_ = 0, released_ = 0;
  int in_flight_ = 0;
  bool holding_ = false, stop_ = false;
};

}  // namespace bb
