#pragma once
// Deterministic random numbers: xoshiro256** seeded through splitmix64.
//
// How streams are split. Nothing draws from one shared generator across
// threads or epochs. Each consumer builds its own generator from
//   derive_seed(run_seed, stream, a, b)
// where `stream` names the purpose (kShuffle, kAugment, kSubset, kInit, ...)
// and a, b are its coordinates, e.g. (epoch, sample index) for augmentation.
// So the random numbers a sample sees depend on the seed, the epoch and the
// sample's index only — never on the worker thread that happened to load it
// or on the number of workers.
#include <cmath>
#include <cstdint>
#include <vector>

namespace bb {

enum class Stream : uint64_t {
  kShuffle = 1,  // (epoch, 0): the order of samples in an epoch
  kAugment = 2,  // (epoch, sample index): crops and flips of one sample
  kSubset = 3,   // (0, 0): which samples a `limit` keeps
  kInit = 4,     // (tensor index, 0): weight initialisation
  kDropout = 5,  // (step, worker): reserved for training
  kFixture = 6,  // (fixture id, item): synthetic test data
  kBootstrap = 7,  // (samples, 0): resampling for a confidence interval
};

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t derive_seed(uint64_t seed, Stream stream, uint64_t a = 0, uint64_t b = 0) {
  uint64_t s = seed;
  uint64_t h = splitmix64(s);
  for (uint64_t v : {static_cast<uint64_t>(stream), a, b}) {
    s = h ^ v;
    h = splitmix64(s);
  }
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  Rng(uint64_t seed, Stream stream, uint64_t a = 0, uint64_t b = 0) {
    reseed(derive_seed(seed, stream, a, b));
  }
  void reseed(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }

  uint64_t next_u64() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), unbiased (Lemire's method with rejection).
  uint64_t below(uint64_t n) {
    if (n == 0) return 0;
    for (;;) {
      __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
      uint64_t low = static_cast<uint64_t>(m);
      if (low >= n || low >= (-n) % n) return static_cast<uint64_t>(m >> 64);
    }
  }
  // Standard normal (Box-Muller, one value per call for simplicity).
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Fisher-Yates.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  const uint64_t* state() const { return s_; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace bb
