#include "train/teacher_logit_cache.hpp"

#include <cstring>

namespace bb {
namespace {
// FNV-1a and a multiply-xorshift mix over the same 32-bit words: two unrelated
// hashes, so a false hit needs both to collide at once.
struct TwoHashes {
  uint64_t fnv = 1469598103934665603ull, mix = 0x9e3779b97f4a7c15ull;
  void add(uint32_t w) {
    fnv = (fnv ^ w) * 1099511628211ull;
    mix ^= w + 0x9e3779b97f4a7c15ull + (mix << 6) + (mix >> 2);
    mix *= 0xbf58476d1ce4e5b9ull;
    mix ^= mix >> 31;
  }
};
}  // namespace

TeacherLogitCache::Key TeacherLogitCache::key_of(const Batch& b) {
  TwoHashes h;
  const float* px = b.images.data();
  const int64_t n = b.images.numel();
  for (int64_t i = 0; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, px + i, sizeof w);
    h.add(w);
  }
  for (int label : b.labels) h.add(static_cast<uint32_t>(label));
  return Key{h.fnv, h.mix, n, b.size()};
}

const float* TeacherLogitCache::find(const Key& key, int64_t K) {
  ++lookups_;
  auto it = stored_.find(key);
  if (it == stored_.end() || static_cast<int64_t>(it->second.size()) != key.rows * K) return nullptr;
  ++hits_;
  return it->second.data();
}

void TeacherLogitCache::insert(const Key& key, const float* logits, int64_t K) {
  const size_t n = static_cast<size_t>(key.rows * K);
  if (bytes_ + n * sizeof(float) > max_bytes_ || stored_.count(key)) return;
  stored_.emplace(key, std::vector<float>(logits, logits + n));
  bytes_ += n * sizeof(float);
}

}  // namespace bb
