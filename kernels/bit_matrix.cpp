// Packing a Linear's codes into the bit kernels' layout (kernels/bit_gemm.hpp)
// and back: what the engine does once per layer at load.
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "kernels/bit_gemm.hpp"

namespace bb {

BitMatrix pack_bit_matrix(WeightFormat format, const int8_t* codes, int64_t N, int64_t K, const float* scales,
                          bool per_row) {
  BitMatrix w;
  w.t = &weight_traits(format);
  const WeightFormatTraits& t = *w.t;
  if (t.kernel_bits == 0) throw Error::usage(std::string("pack_bit_matrix: ") + t.name + " weights have no bit-kernel layout");
  w.N = N;
  w.K = K;
  w.Kp = bit_padded_k(K);
  w.blocks = (N + 15) / 16;
  const int cpb = 8 / t.kernel_bits;
  const int64_t vecs = w.vectors_per_block();
  w.data.resize(static_cast<size_t>(w.blocks * vecs * 64));
  std::memset(w.data.data(), 0, w.data.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int c = codes[n * K + k];
      if (!t.holds(c))
        throw Error::usage(std::string("pack_bit_matrix: code ") + std::to_string(c) + " at [" + std::to_string(n) +
                           ", " + std::to_string(k) + "] is outside the " + t.name + " format");
      const unsigned u = static_cast<unsigned>(c + t.offset) >> t.ushift;
      const int64_t kq = k / 4, v = kq / cpb, i = kq % cpb;
      w.data.data()[((n / 16) * vecs + v) * 64 + (n % 16) * 4 + k % 4] |= static_cast<uint8_t>(u << (i * t.kernel_bits));
    }
  if (!per_row) {  // one scale for the matrix: held once, broadcast by the epilogue
    w.scale.assign(1, scales[0]);
  } else {
    w.scale.assign(static_cast<size_t>(w.blocks * 16), 0.0f);
    for (int64_t n = 0; n < N; ++n) w.scale[static_cast<size_t>(n)] = scales[n];
  }
  return w;
}

void unpack_bit_matrix(const BitMatrix& w, int8_t* codes) {
  const WeightFormatTraits& t = *w.t;
  const int cpb = 8 / t.kernel_bits;
  const unsigned mask = (1u << t.kernel_bits) - 1;
  const int64_t vecs = w.vectors_per_block();
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 0; k < w.K; ++k) {
      const int64_t kq = k / 4, v = kq / cpb, i = kq % cpb;
      const unsigned byte = w.data.data()[((n / 16) * vecs + v) * 64 + (n % 16) * 4 + k % 4];
      codes[n * w.K + k] = static_cast<int8_t>(static_cast<int>(((byte >> (i * t.kernel_bits)) & mask) << t.ushift) - t.offset);
    }
}

}  // namespace bb
