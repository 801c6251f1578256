// Attention on integer codes (attention_quant.hpp): one (image, head) per
// task; a head's slices are copied into contiguous tiles, every inner loop
// runs over Dh or T with unit stride, and each task body is compiled per ISA
// (simd.hpp). Integer sums are exact in any order, so the vectorised loops
// give the same codes' dot products on every path.
#include "kernels/attention_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/fast_math.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd.hpp"

namespace bb {
namespace {

constexpr float kMinProbScale = 0.01f;

int prob_qmax(ActFormat pv) { return (1 << act_traits(pv).bits) - 1; }

float prob_step(const AttnQuant& aq, const float* prob_scale, int64_t h, int64_t T) {
  const float f = prob_scale ? std::max(prob_scale[h], kMinProbScale) : 1.0f;
  return attn_prob_base_step(aq.pv, T) * f;
}

// Unsigned probability code: clip(round half to even(p / α), 0, Q).
BB_INLINE int prob_code(float p, float alpha, int Q) {
  const float c = std::nearbyint(p / alpha);
  return c <= 0.0f ? 0 : c >= static_cast<float>(Q) ? Q : static_cast<int>(c);
}

// Rows of x [M, K] through format f in place (x̃ = code · step), codes widened
// to int32 into ci [M, ldc] (columns K.. zero) and steps [M]. fp32: nothing.
void quantize_rows(ActFormat f, ActScale rule, float* x, int64_t M, int64_t K, int64_t ldc, std::vector<int8_t>& c8,
                   std::vector<int32_t>& ci, std::vector<float>& step, std::vector<int32_t>& sum) {
  if (f == ActFormat::kF32) return;
  c8.resize(static_cast<size_t>(M * K));
  step.resize(static_cast<size_t>(M));
  sum.resize(static_cast<size_t>(M));
  act_traits(f).quantizer(rule)(x, M, K, K, c8.data(), step.data(), sum.data());
  ci.assign(static_cast<size_t>(M * ldc), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      const int8_t c = c8[static_cast<size_t>(m * K + k)];
      ci[static_cast<size_t>(m * ldc + k)] = c;
      x[m * K + k] = static_cast<float>(c) * step[static_cast<size_t>(m)];
    }
}

struct Args {
  const float* qkv;  // forward: qkv; backward: qkv_hat
  const AttnQuant* aq;
  const float* prob_scale;
  float* probs;          // forward: out (may be null); backward: in
  float* qkv_hat;        // forward only (may be null)
  float* out;            // forward: [B, T, D]
  const float* dout;     // backward: [B, T, D]
  float* dqkv;           // backward
  const float* dprobs_extra;  // backward (may be null)
  double* dalpha;        // backward: [B·H] (null: not wanted)
  int64_t B, T, H, Dh;
  float scale;
};

// A thread's tiles, grown on demand and kept.
struct Work {
  std::vector<float> q, k, v, vt, s, sq, sk, sv, dq, dk, dv, ph, dp;
  std::vector<int8_t> c8;
  std::vector<int32_t> cq, ck, cv, cp, sum;
};
Work& work() {
  thread_local Work w;
  return w;
}

BB_INLINE void forward_task_body(const Args& a, int64_t task) {
  const int64_t T = a.T, H = a.H, Dh = a.Dh, D = H * Dh, Tp = (T + 15) / 16 * 16;
  const int64_t b = task / H, h = task % H;
  const AttnQuant& aq = *a.aq;
  Work& w = work();
  w.q.resize(static_cast<size_t>(T * Dh));
  w.k.resize(w.q.size());
  w.vt.resize(w.q.size());
  for (int64_t t = 0; t < T; ++t) {  // q, k [T, Dh]; vᵀ [Dh, T]
    const float* row = a.qkv + (b * T + t) * 3 * D + h * Dh;
    std::memcpy(&w.q[static_cast<size_t>(t * Dh)], row, static_cast<size_t>(Dh) * sizeof(float));
    std::memcpy(&w.k[static_cast<size_t>(t * Dh)], row + D, static_cast<size_t>(Dh) * sizeof(float));
    for (int64_t j = 0; j < Dh; ++j) w.vt[static_cast<size_t>(j * T + t)] = row[2 * D + j];
  }
  const bool qk_int = aq.qk != ActFormat::kF32, pv_int = aq.pv != ActFormat::kF32;
  quantize_rows(aq.qk, aq.rule, w.q.data(), T, Dh, Dh, w.c8, w.cq, w.sq, w.sum);   // q̂, codes [T, Dh]
  quantize_rows(aq.qk, aq.rule, w.k.data(), T, Dh, Dh, w.c8, w.ck, w.sk, w.sum);   // k̂
  quantize_rows(aq.pv, aq.rule, w.vt.data(), Dh, T, Tp, w.c8, w.cv, w.sv, w.sum);  // v̂ᵀ, codes [Dh, Tp]
  if (a.qkv_hat)
    for (int64_t t = 0; t < T; ++t) {
      float* row = a.qkv_hat + (b * T + t) * 3 * D + h * Dh;
      for (int64_t j = 0; j < Dh; ++j) {
        row[j] = w.q[static_cast<size_t>(t * Dh + j)];
        row[D + j] = w.k[static_cast<size_t>(t * Dh + j)];
        row[2 * D + j] = w.vt[static_cast<size_t>(j * T + t)];
      }
    }
  // Scores S [T, Tp] (columns T.. left for the softmax to zero).
  w.s.assign(static_cast<size_t>(T * Tp), 0.0f);
  for (int64_t i = 0; i < T; ++i) {
    float* srow = &w.s[static_cast<size_t>(i * Tp)];
    if (qk_int) {
      const int32_t* x = &w.cq[static_cast<size_t>(i * Dh)];
      for (int64_t t = 0; t < T; ++t) {
        const int32_t* y = &w.ck[static_cast<size_t>(t * Dh)];
        int32_t dot = 0;
        for (int64_t d = 0; d < Dh; ++d) dot += x[d] * y[d];
        srow[t] = static_cast<float>(dot) * (w.sq[static_cast<size_t>(i)] * w.sk[static_cast<size_t>(t)]) * a.scale;
      }
    } else {
      const float* x = &w.q[static_cast<size_t>(i * Dh)];
      for (int64_t t = 0; t < T; ++t) {
        const float* y = &w.k[static_cast<size_t>(t * Dh)];
        float acc = 0;
        for (int64_t d = 0; d < Dh; ++d) acc += (x[d] * a.scale) * y[d];
        srow[t] = acc;
      }
    }
  }
  softmax_padded_block_rows(w.s.data(), T, T, Tp);  // p [T, Tp]
  const int Q = pv_int ? prob_qmax(aq.pv) : 0;
  const float alpha = pv_int ? prob_step(aq, a.prob_scale, h, T) : 0.0f;
  w.cp.assign(static_cast<size_t>(Tp), 0);
  for (int64_t i = 0; i < T; ++i) {
    const float* p = &w.s[static_cast<size_t>(i * Tp)];
    if (a.probs) std::memcpy(a.probs + ((b * H + h) * T + i) * T, p, static_cast<size_t>(T) * sizeof(float));
    float* o = a.out + (b * T + i) * D + h * Dh;
    if (pv_int) {
      for (int64_t t = 0; t < T; ++t) w.cp[static_cast<size_t>(t)] = prob_code(p[t], alpha, Q);
      for (int64_t j = 0; j < Dh; ++j) {
        const int32_t* c = &w.cv[static_cast<size_t>(j * Tp)];
        int32_t dot = 0;
        for (int64_t t = 0; t < Tp; ++t) dot += w.cp[static_cast<size_t>(t)] * c[t];
        o[j] = static_cast<float>(dot) * (alpha * w.sv[static_cast<size_t>(j)]);
      }
    } else {
      for (int64_t j = 0; j < Dh; ++j) {
        const float* v = &w.vt[static_cast<size_t>(j * T)];
        float acc = 0;
        for (int64_t t = 0; t < T; ++t) acc += p[t] * v[t];
        o[j] = acc;
      }
    }
  }
}
BB_MULTIVERSION(forward_task, (const Args& a, int64_t task), (a, task))

BB_INLINE void backward_task_body(const Args& a, int64_t task) {
  const int64_t T = a.T, H = a.H, Dh = a.Dh, D = H * Dh;
  const int64_t b = task / H, h = task % H;
  const AttnQuant& aq = *a.aq;
  Work& w = work();
  const size_t n = static_cast<size_t>(T * Dh);
  w.q.resize(n);
  w.k.resize(n);
  w.v.resize(n);
  w.dq.assign(n, 0.0f);
  w.dk.assign(n, 0.0f);
  w.dv.assign(n, 0.0f);
  w.ph.resize(static_cast<size_t>(T));
  w.dp.resize(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {  // q̂, k̂, v̂ [T, Dh]
    const float* row = a.qkv + (b * T + t) * 3 * D + h * Dh;
    std::memcpy(&w.q[static_cast<size_t>(t * Dh)], row, static_cast<size_t>(Dh) * sizeof(float));
    std::memcpy(&w.k[static_cast<size_t>(t * Dh)], row + D, static_cast<size_t>(Dh) * sizeof(float));
    std::memcpy(&w.v[static_cast<size_t>(t * Dh)], row + 2 * D, static_cast<size_t>(Dh) * sizeof(float));
  }
  const bool pv_int = aq.pv != ActFormat::kF32;
  const int Q = pv_int ? prob_qmax(aq.pv) : 0;
  const float alpha = pv_int ? prob_step(aq, a.prob_scale, h, T) : 0.0f;
  const bool want_alpha = a.dalpha && a.prob_scale[h] > kMinProbScale;
  double da = 0;
  for (int64_t i = 0; i < T; ++i) {
    const float* p = a.probs + ((b * H + h) * T + i) * T;
    const float* go = a.dout + (b * T + i) * D + h * Dh;  // [Dh]
    for (int64_t t = 0; t < T; ++t)
      w.ph[static_cast<size_t>(t)] = pv_int ? alpha * static_cast<float>(prob_code(p[t], alpha, Q)) : p[t];
    // dp̂[t] = Σ_j dout[i, j] v̂[t, j]; dv̂[t, :] += p̂[t] dout[i, :]
    for (int64_t t = 0; t < T; ++t) {
      const float* v = &w.v[static_cast<size_t>(t * Dh)];
      float* dv = &w.dv[static_cast<size_t>(t * Dh)];
      const float pt = w.ph[static_cast<size_t>(t)];
      float acc = 0;
      for (int64_t j = 0; j < Dh; ++j) {
        acc += go[j] * v[j];
        dv[j] += pt * go[j];
      }
      w.dp[static_cast<size_t>(t)] = acc;
    }
    if (want_alpha)  // LSQ: d(α · clip(round(p/α)))/dα
      for (int64_t t = 0; t < T; ++t) {
        const float r = p[t] / alpha;
        const float g = r > static_cast<float>(Q) ? static_cast<float>(Q) : static_cast<float>(prob_code(p[t], alpha, Q)) - r;
        da += static_cast<double>(w.dp[static_cast<size_t>(t)]) * g;
      }
    if (a.dprobs_extra) {  // another loss's gradient at p (after the quantiser's straight-through)
      const float* e = a.dprobs_extra + ((b * H + h) * T + i) * T;
      for (int64_t t = 0; t < T; ++t) w.dp[static_cast<size_t>(t)] += e[t];
    }
    // softmax backward: ds = p (dp − Σ p dp), then through the scaled q̂·k̂ᵀ
    float dot = 0;
    for (int64_t t = 0; t < T; ++t) dot += p[t] * w.dp[static_cast<size_t>(t)];
    float* dq = &w.dq[static_cast<size_t>(i * Dh)];
    const float* q = &w.q[static_cast<size_t>(i * Dh)];
    for (int64_t t = 0; t < T; ++t) {
      const float ds = p[t] * (w.dp[static_cast<size_t>(t)] - dot) * a.scale;
      const float* k = &w.k[static_cast<size_t>(t * Dh)];
      float* dk = &w.dk[static_cast<size_t>(t * Dh)];
      for (int64_t d = 0; d < Dh; ++d) {
        dq[d] += ds * k[d];
        dk[d] += ds * q[d];
      }
    }
  }
  for (int64_t t = 0; t < T; ++t) {
    float* row = a.dqkv + (b * T + t) * 3 * D + h * Dh;
    std::memcpy(row, &w.dq[static_cast<size_t>(t * Dh)], static_cast<size_t>(Dh) * sizeof(float));
    std::memcpy(row + D, &w.dk[static_cast<size_t>(t * Dh)], static_cast<size_t>(Dh) * sizeof(float));
    std::memcpy(row + 2 * D, &w.dv[static_cast<size_t>(t * Dh)], static_cast<size_t>(Dh) * sizeof(float));
  }
  if (a.dalpha) a.dalpha[task] = da;
}
BB_MULTIVERSION(backward_task, (const Args& a, int64_t task), (a, task))

}  // namespace

float attn_prob_base_step(ActFormat pv, int64_t T) {
  return std::min(1.0f / static_cast<float>(prob_qmax(pv)), 2.0f / static_cast<float>(T));
}

void attention_quant_forward(const float* qkv, const AttnQuant& aq, const float* prob_scale, float* probs,
                             float* qkv_hat, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh, float scale) {
  Args a{qkv, &aq, prob_scale, probs, qkv_hat, out, nullptr, nullptr, nullptr, nullptr, B, T, H, Dh, scale};
  parallel_tasks(B * H, true, [&](int64_t task) { forward_task(a, task); });
}

void attention_quant_backward(const float* qkv_hat, const float* probs, const float* dout, const AttnQuant& aq,
                              const float* prob_scale, float* dqkv, float* dprob_scale, int64_t B, int64_t T,
                              int64_t H, int64_t Dh, float scale, const float* dprobs_extra) {
  const bool want_alpha = aq.pv != ActFormat::kF32 && prob_scale && dprob_scale;
  std::vector<double> dalpha(want_alpha ? static_cast<size_t>(B * H) : 0, 0.0);  // per task, summed in order below
  Args a{qkv_hat, &aq, prob_scale, const_cast<float*>(probs), nullptr, nullptr, dout, dqkv, dprobs_extra,
         want_alpha ? dalpha.data() : nullptr, B, T, H, Dh, scale};
  parallel_tasks(B * H, true, [&](int64_t task) { backward_task(a, task); });
  if (!want_alpha) return;
  for (int64_t h = 0; h < H; ++h) {
    double sum = 0;
    for (int64_t b = 0; b < B; ++b) sum += dalpha[static_cast<size_t>(b * H + h)];
    dprob_scale[h] += static_cast<float>(sum * attn_prob_base_step(aq.pv, T));
  }
}

}  // namespace bb
