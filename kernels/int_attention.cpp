// The integer-only student's inference attention (int_attention.hpp): one
// (image, head) per task; its codes come from the same quantiser calls as
// attention_quant.cpp's, its integer sums are exact in any order, and its
// floats are the same expressions, so the output equals that file's bit for bit.
#include "kernels/int_attention.hpp"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/cpu_features.hpp"
#include "core/simd.hpp"
#include "kernels/int_ops.hpp"
#include "kernels/intrinsics_warnings.hpp"
#include "kernels/parallel.hpp"

#define BB_TARGET_VNNI __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")))

namespace bb {
namespace {

// b [N, K] s8 (row stride ldb) → packed [ceil(N/16)][ceil(K/4)][16 columns][4 inputs],
// zero padded: one 64-byte vector per block and 4 inputs, the operand
// vpdpbusd multiplies against 4 broadcast unsigned bytes of a row of a.
// Copies 4 inputs at a time; rowsum[n] = Σ_k b[n, k] when non-null.
void pack_cols(const int8_t* b, int64_t N, int64_t K, int64_t ldb, std::vector<int8_t>& out, int32_t* rowsum) {
  const int64_t blocks = (N + 15) / 16, K4 = (K + 3) / 4, Kf = K / 4, rem = K - 4 * Kf;
  out.resize(static_cast<size_t>(blocks * K4 * 64));
  for (int64_t n = 0; n < blocks * 16; ++n) {
    int8_t* dst = out.data() + (n / 16) * K4 * 64 + (n % 16) * 4;
    if (n >= N) {  // a padding column
      for (int64_t kk = 0; kk < K4; ++kk) std::memset(dst + kk * 64, 0, 4);
      continue;
    }
    const int8_t* row = b + n * ldb;
    for (int64_t kk = 0; kk < Kf; ++kk) std::memcpy(dst + kk * 64, row + 4 * kk, 4);
    if (rem) {
      int8_t last[4] = {0, 0, 0, 0};
      std::memcpy(last, row + 4 * Kf, static_cast<size_t>(rem));
      std::memcpy(dst + Kf * 64, last, 4);
    }
    if (rowsum) {
      int32_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += row[k];
      rowsum[n] = sum;
    }
  }
}

// C[m, 16·nb + j] = Σ_k a[m, k] · b[16·nb + j, k]: a [M, lda] u8 (lda ≥ 4·K4,
// zero past K), b packed, C [M, ldc] (ldc ≥ 16·blocks).
struct DotArgs {
  const uint8_t* a;
  int64_t M, lda;
  const int8_t* b;
  int64_t blocks, K4;
  int32_t* c;
  int64_t ldc;
};

void dot_generic(const DotArgs& d) {
  for (int64_t m = 0; m < d.M; ++m)
    for (int64_t nb = 0; nb < d.blocks; ++nb)
      for (int64_t j = 0; j < 16; ++j) {
        int32_t s = 0;
        for (int64_t kk = 0; kk < d.K4; ++kk)
          for (int64_t r = 0; r < 4; ++r)
            s += static_cast<int32_t>(d.a[m * d.lda + 4 * kk + r]) * d.b[(nb * d.K4 + kk) * 64 + j * 4 + r];
        d.c[m * d.ldc + nb * 16 + j] = s;
      }
}

BB_TARGET_VNNI void dot_vnni(const DotArgs& d) {
  for (int64_t m = 0; m < d.M; ++m) {
    const uint8_t* a = d.a + m * d.lda;
    for (int64_t nb = 0; nb < d.blocks; ++nb) {
      const int8_t* b = d.b + nb * d.K4 * 64;
      __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
      int64_t kk = 0;
      for (; kk + 2 <= d.K4; kk += 2) {
        int32_t a0, a1;
        std::memcpy(&a0, a + 4 * kk, 4);
        std::memcpy(&a1, a + 4 * kk + 4, 4);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_set1_epi32(a0), _mm512_loadu_si512(b + kk * 64));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_set1_epi32(a1), _mm512_loadu_si512(b + kk * 64 + 64));
      }
      if (kk < d.K4) {
        int32_t a0;
        std::memcpy(&a0, a + 4 * kk, 4);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_set1_epi32(a0), _mm512_loadu_si512(b + kk * 64));
      }
      _mm512_storeu_si512(d.c + m * d.ldc + nb * 16, _mm512_add_epi32(acc0, acc1));
    }
  }
}

// AVX2: codes widened to int16; one vpmaddwd gives, for 4 columns, the sums
// of inputs (0, 1) and (2, 3) in adjacent lanes, added pairwise at the end.
BB_TARGET_AVX2 void dot_avx2(const DotArgs& d) {
  for (int64_t m = 0; m < d.M; ++m) {
    const uint8_t* a = d.a + m * d.lda;
    for (int64_t nb = 0; nb < d.blocks; ++nb) {
      const int8_t* b = d.b + nb * d.K4 * 64;
      __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int64_t kk = 0; kk < d.K4; ++kk) {
        const int64_t a4 = static_cast<int64_t>(a[4 * kk]) | static_cast<int64_t>(a[4 * kk + 1]) << 16 |
                           static_cast<int64_t>(a[4 * kk + 2]) << 32 | static_cast<int64_t>(a[4 * kk + 3]) << 48;
        const __m256i av = _mm256_set1_epi64x(a4);  // a's 4 inputs as int16, repeated for 4 columns
        for (int c = 0; c < 4; ++c) {
          const __m256i bv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + kk * 64 + 16 * c)));
          acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(av, bv));
        }
      }
      alignas(32) int32_t part[32];
      for (int c = 0; c < 4; ++c) _mm256_store_si256(reinterpret_cast<__m256i*>(part + 8 * c), acc[c]);
      for (int j = 0; j < 16; ++j) d.c[m * d.ldc + nb * 16 + j] = part[2 * j] + part[2 * j + 1];
    }
  }
}

enum class Path { kGeneric, kAvx2, kVnni };
Path current_path() {
  const Isa isa = active_isa();
  if (isa == Isa::kAvx512 && cpu_features().avx512vnni) return Path::kVnni;
  return isa == Isa::kGeneric ? Path::kGeneric : Path::kAvx2;
}
void dot(const DotArgs& d) {
  switch (current_path()) {
    case Path::kVnni: return dot_vnni(d);
    case Path::kAvx2: return dot_avx2(d);
    default: return dot_generic(d);
  }
}

// A thread's buffers, grown on demand and kept.
struct Work {
  std::vector<float> q, k, vt, sq, sk, sv, m;
  std::vector<int8_t> cq, ck, cv, kp, vp;
  std::vector<uint8_t> aq, cp;
  std::vector<int32_t> sum, ksum, s, o;
};
Work& work() {
  thread_local Work w;
  return w;
}

// Returns the seconds its softmax took when `timed`.
double task(const float* qkv, const AttnQuant& aq, const float* prob_scale, float* out, int64_t T, int64_t H,
            int64_t Dh, float scale, int64_t b, int64_t h, bool timed) {
  const int64_t D = H * Dh, Dh4 = (Dh + 3) / 4 * 4, T4 = (T + 3) / 4 * 4;
  const int64_t Tn = (T + 15) / 16 * 16, Dn = (Dh + 15) / 16 * 16;
  Work& w = work();
  const size_t n = static_cast<size_t>(T * Dh);
  w.q.resize(n);
  w.k.resize(n);
  w.vt.resize(n);
  attn_gather_head(qkv, b, h, T, H, Dh, w.q.data(), w.k.data(), w.vt.data());  // q, k [T, Dh]; vᵀ [Dh, T]
  // The codes, by the calls attention_quant.cpp makes: q per token, k per head, v per channel.
  const ActQuantizeFn qk = act_traits(aq.qk).quantizer(aq.rule), pv = act_traits(aq.pv).quantizer(aq.rule);
  w.cq.resize(static_cast<size_t>(T * Dh4));
  w.sq.resize(static_cast<size_t>(T));
  w.sum.resize(static_cast<size_t>(std::max(T, Dh)));
  qk(w.q.data(), T, Dh, Dh4, w.cq.data(), w.sq.data(), w.sum.data());
  w.ck.resize(n);
  w.sk.resize(1);
  qk(w.k.data(), 1, T * Dh, T * Dh, w.ck.data(), w.sk.data(), w.sum.data());
  w.cv.resize(n);
  w.sv.resize(static_cast<size_t>(Dh));
  pv(w.vt.data(), Dh, T, T, w.cv.data(), w.sv.data(), w.sum.data());
  // q·kᵀ: q's codes offset to unsigned (its padding stays 0: it would
  // multiply k's zero padding anyway), k's row sums take the offset back out.
  w.aq.resize(static_cast<size_t>(T * Dh4));
  for (int64_t i = 0; i < T; ++i) {
    const int8_t* c = &w.cq[static_cast<size_t>(i * Dh4)];
    uint8_t* a = &w.aq[static_cast<size_t>(i * Dh4)];
    for (int64_t d = 0; d < Dh; ++d) a[d] = static_cast<uint8_t>(c[d] + 128);
    for (int64_t d = Dh; d < Dh4; ++d) a[d] = 0;
  }
  w.ksum.resize(static_cast<size_t>(T));
  pack_cols(w.ck.data(), T, Dh, Dh, w.kp, w.ksum.data());
  w.s.resize(static_cast<size_t>(T * Tn));
  dot({w.aq.data(), T, Dh4, w.kp.data(), Tn / 16, Dh4 / 4, w.s.data(), Tn});
  const int Q = (1 << act_traits(aq.pv).bits) - 1;
  const float alpha = attn_prob_step(aq, prob_scale, h, T);
  w.cp.assign(static_cast<size_t>(T * T4), 0);
  const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  w.m.resize(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) {
    int32_t* acc = &w.s[static_cast<size_t>(i * Tn)];
    for (int64_t t = 0; t < T; ++t) acc[t] -= 128 * w.ksum[static_cast<size_t>(t)];
    w.m[static_cast<size_t>(i)] = w.sq[static_cast<size_t>(i)] * w.sk[0] * scale;  // as attention_quant.cpp
  }
  int_softmax_rows(w.s.data(), T, T, Tn, w.m.data(), alpha, Q, w.cp.data(), T4);
  const double softmax_s = timed ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() : 0.0;
  // attention·v on the probability codes.
  pack_cols(w.cv.data(), Dh, T, T, w.vp, nullptr);
  w.o.resize(static_cast<size_t>(T * Dn));
  dot({w.cp.data(), T, T4, w.vp.data(), Dn / 16, T4 / 4, w.o.data(), Dn});
  for (int64_t i = 0; i < T; ++i) {
    float* o = out + (b * T + i) * D + h * Dh;
    const int32_t* acc = &w.o[static_cast<size_t>(i * Dn)];
    for (int64_t j = 0; j < Dh; ++j) o[j] = static_cast<float>(acc[j]) * (alpha * w.sv[static_cast<size_t>(j)]);
  }
  return softmax_s;
}

}  // namespace

bool int_attention_serves(const AttnQuant& aq) {
  return aq.int_softmax && aq.qk != ActFormat::kF32 && aq.pv != ActFormat::kF32;
}

void int_attention_forward(const float* qkv, const AttnQuant& aq, const float* prob_scale, float* out, int64_t B,
                           int64_t T, int64_t H, int64_t Dh, float scale, double* softmax_seconds) {
  std::vector<double> secs(softmax_seconds ? static_cast<size_t>(B * H) : 0);
  const bool parallel = parallel_pays_macs(B * H * T * T * Dh);
  parallel_tasks(B * H, parallel, [&](int64_t t) {
    const double s = task(qkv, aq, prob_scale, out, T, H, Dh, scale, t / H, t % H, softmax_seconds != nullptr);
    if (softmax_seconds) secs[static_cast<size_t>(t)] = s;
  });
  if (!softmax_seconds) return;
  double sum = 0;
  for (double s : secs) sum += s;
  const int64_t ran = parallel ? std::min<int64_t>(B * H, num_threads() < 1 ? 1 : num_threads()) : 1;
  *softmax_seconds += sum / static_cast<double>(ran);
}

void int_dot_u8s8(const uint8_t* a, const int8_t* b, int64_t M, int64_t N, int64_t K, int32_t* c) {
  const int64_t K4 = (K + 3) / 4, blocks = (N + 15) / 16;
  std::vector<uint8_t> ap(static_cast<size_t>(M * K4 * 4), 0);
  for (int64_t m = 0; m < M; ++m) std::memcpy(&ap[static_cast<size_t>(m * K4 * 4)], a + m * K, static_cast<size_t>(K));
  std::vector<int8_t> bp;
  pack_cols(b, N, K, K, bp, nullptr);
  std::vector<int32_t> full(static_cast<size_t>(M * blocks * 16));
  dot({ap.data(), M, K4 * 4, bp.data(), blocks, K4, full.data(), blocks * 16});
  for (int64_t m = 0; m < M; ++m)
    std::memcpy(c + m * N, &full[static_cast<size_t>(m * blocks * 16)], static_cast<size_t>(N) * sizeof(int32_t));
}

const char* int_dot_path() {
  switch (current_path()) {
    case Path::kVnni: return "avx512-vnni";
    case Path::kAvx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace bb
