#pragma once
// The teacher's logits by batch, shared by the students one `distill` run
// trains against the same teacher. Every student sees the same batches (the
// loader's order and augmentation depend only on the seed and the epoch), so
// from the second student on the teacher's forward is a lookup. Saves the
// teacher forward, about a third of a small student's step; changes no number
// (the stored logits are the ones the forward returns).
//
// A batch is keyed by two independent 64-bit hashes of its pixels and labels
// and its size; one not stored is computed and stored until the byte budget
// is spent, then computed every time as before.
#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "datasets/loader.hpp"

namespace bb {

class TeacherLogitCache {
 public:
  struct Key {
    uint64_t h1 = 0, h2 = 0;
    int64_t pixels = 0, rows = 0;  // the batch's image floats and images
    bool operator<(const Key& o) const {
      return std::tie(h1, h2, pixels, rows) < std::tie(o.h1, o.h2, o.pixels, o.rows);
    }
  };
  explicit TeacherLogitCache(size_t max_bytes = size_t{256} << 20) : max_bytes_(max_bytes) {}

  static Key key_of(const Batch& b);
  // The logits [rows, K] stored under key, or null (none stored, or stored with another K).
  const float* find(const Key& key, int64_t K);
  // Stores logits [rows, K]; a no-op once the byte budget is spent.
  void insert(const Key& key, const float* logits, int64_t K);

  int64_t hits() const { return hits_; }
  int64_t lookups() const { return lookups_; }
  size_t bytes() const { return bytes_; }

 private:
  std::map<Key, std::vector<float>> stored_;
  size_t max_bytes_, bytes_ = 0;
  int64_t hits_ = 0, lookups_ = 0;
};

}  // namespace bb
