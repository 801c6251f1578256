#include "datasets/loader.hpp"

#include <algorithm>
#include <numeric>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/transforms.hpp"

namespace bb {

std::vector<int64_t> seeded_subset(int64_t n, int64_t limit, uint64_t seed) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  if (limit > 0 && limit < n) {
    Rng rng(seed, Stream::kSubset);
    rng.shuffle(v);
    v.resize(static_cast<size_t>(limit));
    std::sort(v.begin(), v.end());
  }
  return v;
}

Loader::Loader(const Dataset& ds, TransformConfig t, AugmentConfig a, LoaderOptions o)
    : ds_(ds), t_(std::move(t)), a_(std::move(a)), o_(o) {
  if (o_.batch_size < 1) throw Error::usage("batch size must be at least 1");
  if (o_.workers < 0) throw Error::usage("workers must be 0 or more");
  if (o_.prefetch < 1) o_.prefetch = 1;
  if (t_.img_size < 1 || (t_.in_chans != 1 && t_.in_chans != 3) || t_.mean.size() != static_cast<size_t>(t_.in_chans) ||
      t_.std.size() != static_cast<size_t>(t_.in_chans))
    throw Error::usage("loader: transform is not resolved (img_size, in_chans, mean, std)");
  if (o_.first) {  // the first `limit` in index (file) order, as reference dumps take them
    const int64_t n = static_cast<int64_t>(ds_.size());
    subset_.resize(static_cast<size_t>(o_.limit > 0 ? std::min(o_.limit, n) : n));
    std::iota(subset_.begin(), subset_.end(), int64_t{0});
  } else {
    subset_ = seeded_subset(static_cast<int64_t>(ds_.size()), o_.limit, o_.seed);
  }
  if (o_.ranks < 1 || o_.rank < 0 || o_.rank >= o_.ranks) throw Error::usage("loader: rank out of range");
  if (!o_.train && o_.ranks > 1) {
    int64_t lo, hi;
    comm::shard_range(static_cast<int64_t>(subset_.size()), o_.rank, o_.ranks, &lo, &hi);
    subset_ = std::vector<int64_t>(subset_.begin() + lo, subset_.begin() + hi);
  }
  size_t nslots = o_.workers == 0 ? 1 : static_cast<size_t>(o_.workers * o_.prefetch);
  slots_.resize(nslots);
  for (auto& s : slots_) s.images = Tensor(Shape{o_.batch_size, t_.in_chans, t_.img_size, t_.img_size});
  for (int w = 0; w < o_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() { stop_workers(); }

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

int64_t Loader::num_batches() const {
  int64_t n = num_samples(), b = o_.batch_size;
  return o_.drop_last ? n / b : (n + b - 1) / b;
}

void Loader::start_epoch(int epoch, int64_t first_batch) {
  std::unique_lock<std::mutex> lock(mu_);
  // Let batches already being filled finish before their slots are reused.
  epoch_ = -1;
  cv_.wait(lock, [&] { return in_flight_ == 0; });
  order_ = subset_;
  if (o_.shuffle) {
    Rng rng(o_.seed, Stream::kShuffle, static_cast<uint64_t>(epoch));
    rng.shuffle(order_);
  }
  for (auto& s : slots_) {
    s.ready = -1;
    s.error = nullptr;
  }
  next_produce_ = next_consume_ = released_ = std::clamp<int64_t>(first_batch, 0, num_batches());
  holding_ = false;
  epoch_ = epoch;
  lock.unlock();
  cv_.notify_all();
}

void Loader::fill(Slot& s, int64_t b, int epoch) {
  int64_t begin = b * o_.batch_size;
  int64_t end = std::min<int64_t>(begin + o_.batch_size, static_cast<int64_t>(order_.size()));
  if (o_.train && o_.ranks > 1) {  // this rank's slice of the global batch
    int64_t lo, hi;
    comm::shard_range(end - begin, o_.rank, o_.ranks, &lo, &hi);
    end = begin + hi;
    begin += lo;
  }
  int n = static_cast<int>(end - begin);
  Batch& out = s.batch;
  out.index = b;
  out.labels.resize(static_cast<size_t>(n));
  out.indices.resize(static_cast<size_t>(n));
  out.images = s.images.slice(0, n);
  const int64_t per_image = static_cast<int64_t>(t_.in_chans) * t_.img_size * t_.img_size;
  for (int k = 0; k < n; ++k) {
    int64_t idx = order_[static_cast<size_t>(begin + k)];
    out.indices[static_cast<size_t>(k)] = idx;
    out.labels[static_cast<size_t>(k)] = ds_.label(static_cast<size_t>(idx));
    cv::Mat img = ds_.image(static_cast<size_t>(idx));
    float* dst = s.images.data() + k * per_image;
    naming_input_errors(ds_.origin(static_cast<size_t>(idx)), [&] {
      if (o_.train) {
        Rng rng(o_.seed, Stream::kAugment, static_cast<uint64_t>(epoch), static_cast<uint64_t>(idx));
        train_transform(img, t_, a_, rng, dst);
      } else {
        eval_transform(img, t_, dst);
      }
    });
  }
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const int64_t nslots = static_cast<int64_t>(slots_.size());
    cv_.wait(lock, [&] {
      return stop_ || (epoch_ >= 0 && next_produce_ < num_batches() && next_produce_ < released_ + nslots);
    });
    if (stop_) return;
    int64_t b = next_produce_++;
    int epoch = epoch_;
    Slot& s = slots_[static_cast<size_t>(b % nslots)];
    ++in_flight_;
    lock.unlock();
    std::exception_ptr err;
    try {
      fill(s, b, epoch);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    --in_flight_;
    s.error = err;
    s.ready = b;
    cv_.notify_all();
  }
}

const Batch* Loader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (epoch_ < 0) throw Error::usage("Loader::next() before start_epoch()");
  if (holding_) {
    holding_ = false;
    ++released_;
    cv_.notify_all();
  }
  if (next_consume_ >= num_batches()) return nullptr;
  int64_t b = next_consume_++;
  Slot& s = slots_[static_cast<size_t>(b % static_cast<int64_t>(slots_.size()))];
  if (threads_.empty()) {
    lock.unlock();
    fill(s, b, epoch_);
    lock.lock();
  } else {
    cv_.wait(lock, [&] { return s.ready == b; });
    if (s.error) {
      std::exception_ptr e = s.error;
      s.error = nullptr;
      holding_ = true;
      std::rethrow_exception(e);
    }
  }
  holding_ = true;
  return &s.batch;
}

}  // namespace bb
