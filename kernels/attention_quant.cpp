// Attention on integer codes (attention_quant.hpp): plain loops, one
// (image, head) per task; a head's slices are copied into contiguous tiles first.
#include "kernels/attention_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/parallel.hpp"

namespace bb {
namespace {

constexpr float kMinProbScale = 0.01f;

int prob_qmax(ActFormat pv) { return (1 << act_traits(pv).bits) - 1; }

float prob_step(const AttnQuant& aq, const float* prob_scale, int64_t h, int64_t T) {
  const float f = prob_scale ? std::max(prob_scale[h], kMinProbScale) : 1.0f;
  return attn_prob_base_step(aq.pv, T) * f;
}

// Unsigned probability code: clip(round half to even(p / α), 0, Q).
inline int prob_code(float p, float alpha, int Q) {
  const float c = std::nearbyint(p / alpha);
  return c <= 0.0f ? 0 : c >= static_cast<float>(Q) ? Q : static_cast<int>(c);
}

// One head's tiles: q, k [T, Dh] and vᵀ [Dh, T] copied out of qkv [T, 3, H, Dh] (image b).
struct HeadTiles {
  std::vector<float> q, k, vt;
  HeadTiles(const float* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t Dh)
      : q(static_cast<size_t>(T * Dh)), k(q.size()), vt(q.size()) {
    const int64_t D = H * Dh;
    for (int64_t t = 0; t < T; ++t) {
      const float* row = qkv + (b * T + t) * 3 * D + h * Dh;
      std::memcpy(&q[static_cast<size_t>(t * Dh)], row, static_cast<size_t>(Dh) * sizeof(float));
      std::memcpy(&k[static_cast<size_t>(t * Dh)], row + D, static_cast<size_t>(Dh) * sizeof(float));
      for (int64_t j = 0; j < Dh; ++j) vt[static_cast<size_t>(j * T + t)] = row[2 * D + j];
    }
  }
};

// Rows of x [M, K] through format f in place (x̃ = code · step); codes and
// steps out ([M, K], [M]). fp32: nothing.
void quantize_rows(ActFormat f, ActScale rule, std::vector<float>& x, int64_t M, int64_t K, std::vector<int8_t>& codes,
                   std::vector<float>& step) {
  if (f == ActFormat::kF32) return;
  codes.resize(static_cast<size_t>(M * K));
  step.resize(static_cast<size_t>(M));
  std::vector<int32_t> sum(static_cast<size_t>(M));
  act_traits(f).quantizer(rule)(x.data(), M, K, K, codes.data(), step.data(), sum.data());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k)
      x[static_cast<size_t>(m * K + k)] = static_cast<float>(codes[static_cast<size_t>(m * K + k)]) * step[static_cast<size_t>(m)];
}

}  // namespace

float attn_prob_base_step(ActFormat pv, int64_t T) {
  return std::min(1.0f / static_cast<float>(prob_qmax(pv)), 2.0f / static_cast<float>(T));
}

void attention_quant_forward(const float* qkv, const AttnQuant& aq, const float* prob_scale, float* probs,
                             float* qkv_hat, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh, float scale) {
  const int64_t D = H * Dh;
  parallel_tasks(B * H, true, [&](int64_t task) {
    const int64_t b = task / H, h = task % H;
    HeadTiles tl(qkv, b, h, T, H, Dh);
    std::vector<int8_t> cq, ck, cv;
    std::vector<float> sq, sk, sv;
    quantize_rows(aq.qk, aq.rule, tl.q, T, Dh, cq, sq);  // q̂ [T, Dh]
    quantize_rows(aq.qk, aq.rule, tl.k, T, Dh, ck, sk);  // k̂ [T, Dh]
    quantize_rows(aq.pv, aq.rule, tl.vt, Dh, T, cv, sv);  // v̂ᵀ [Dh, T]
    if (qkv_hat)
      for (int64_t t = 0; t < T; ++t) {
        float* row = qkv_hat + (b * T + t) * 3 * D + h * Dh;
        for (int64_t j = 0; j < Dh; ++j) {
          row[j] = tl.q[static_cast<size_t>(t * Dh + j)];
          row[D + j] = tl.k[static_cast<size_t>(t * Dh + j)];
          row[2 * D + j] = tl.vt[static_cast<size_t>(j * T + t)];
        }
      }
    const bool qk_int = aq.qk != ActFormat::kF32, pv_int = aq.pv != ActFormat::kF32;
    const int Q = pv_int ? prob_qmax(aq.pv) : 0;
    const float alpha = pv_int ? prob_step(aq, prob_scale, h, T) : 0.0f;
    std::vector<float> s(static_cast<size_t>(T)), qs(static_cast<size_t>(Dh));
    std::vector<int32_t> cp(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) {
      // scores s [T] of query row i
      if (qk_int) {
        const int8_t* a = &cq[static_cast<size_t>(i * Dh)];
        for (int64_t t = 0; t < T; ++t) {
          const int8_t* c = &ck[static_cast<size_t>(t * Dh)];
          int32_t dot = 0;
          for (int64_t d = 0; d < Dh; ++d) dot += static_cast<int32_t>(a[d]) * static_cast<int32_t>(c[d]);
          s[static_cast<size_t>(t)] = static_cast<float>(dot) * (sq[static_cast<size_t>(i)] * sk[static_cast<size_t>(t)]) * scale;
        }
      } else {
        for (int64_t d = 0; d < Dh; ++d) qs[static_cast<size_t>(d)] = tl.q[static_cast<size_t>(i * Dh + d)] * scale;
        for (int64_t t = 0; t < T; ++t) {
          float acc = 0;
          for (int64_t d = 0; d < Dh; ++d) acc += qs[static_cast<size_t>(d)] * tl.k[static_cast<size_t>(t * Dh + d)];
          s[static_cast<size_t>(t)] = acc;
        }
      }
      // p = softmax(s)
      float mx = s[0];
      for (int64_t t = 1; t < T; ++t) mx = std::max(mx, s[static_cast<size_t>(t)]);
      float sum = 0;
      for (int64_t t = 0; t < T; ++t) sum += (s[static_cast<size_t>(t)] = std::exp(s[static_cast<size_t>(t)] - mx));
      const float inv = 1.0f / sum;
      for (int64_t t = 0; t < T; ++t) s[static_cast<size_t>(t)] *= inv;
      if (probs) std::memcpy(probs + ((b * H + h) * T + i) * T, s.data(), static_cast<size_t>(T) * sizeof(float));
      // out row i [Dh]
      float* o = out + (b * T + i) * D + h * Dh;
      if (pv_int) {
        for (int64_t t = 0; t < T; ++t) cp[static_cast<size_t>(t)] = prob_code(s[static_cast<size_t>(t)], alpha, Q);
        for (int64_t j = 0; j < Dh; ++j) {
          const int8_t* c = &cv[static_cast<size_t>(j * T)];
          int32_t dot = 0;
          for (int64_t t = 0; t < T; ++t) dot += cp[static_cast<size_t>(t)] * static_cast<int32_t>(c[t]);
          o[j] = static_cast<float>(dot) * (alpha * sv[static_cast<size_t>(j)]);
        }
      } else {
        for (int64_t j = 0; j < Dh; ++j) {
          const float* v = &tl.vt[static_cast<size_t>(j * T)];
          float acc = 0;
          for (int64_t t = 0; t < T; ++t) acc += s[static_cast<size_t>(t)] * v[t];
          o[j] = acc;
        }
      }
    }
  });
}

void attention_quant_backward(const float* qkv_hat, const float* probs, const float* dout, const AttnQuant& aq,
                              const float* prob_scale, float* dqkv, float* dprob_scale, int64_t B, int64_t T,
                              int64_t H, int64_t Dh, float scale, const float* dprobs_extra) {
  const int64_t D = H * Dh;
  const bool pv_int = aq.pv != ActFormat::kF32;
  const bool want_alpha = pv_int && prob_scale && dprob_scale;
  std::vector<double> dalpha(static_cast<size_t>(B * H), 0.0);  // per task, summed in order below
  parallel_tasks(B * H, true, [&](int64_t task) {
    const int64_t b = task / H, h = task % H;
    HeadTiles tl(qkv_hat, b, h, T, H, Dh);  // q̂, k̂, v̂ᵀ
    const float* P = probs + (b * H + h) * T * T;  // [T, T]
    const int Q = pv_int ? prob_qmax(aq.pv) : 0;
    const float alpha = pv_int ? prob_step(aq, prob_scale, h, T) : 0.0f;
    std::vector<float> dq(static_cast<size_t>(T * Dh), 0.0f), dk(dq.size(), 0.0f), dvt(dq.size(), 0.0f);
    std::vector<float> phat(static_cast<size_t>(T)), dp(static_cast<size_t>(T));
    double da = 0;
    for (int64_t i = 0; i < T; ++i) {
      const float* p = P + i * T;
      const float* go = dout + (b * T + i) * D + h * Dh;  // [Dh]
      for (int64_t t = 0; t < T; ++t)
        phat[static_cast<size_t>(t)] = pv_int ? alpha * static_cast<float>(prob_code(p[t], alpha, Q)) : p[t];
      // dp̂[t] = Σ_j dout[i, j] v̂[t, j]; dv̂[t, j] += p̂[t] dout[i, j]
      for (int64_t t = 0; t < T; ++t) {
        float acc = 0;
        for (int64_t j = 0; j < Dh; ++j) {
          acc += go[j] * tl.vt[static_cast<size_t>(j * T + t)];
          dvt[static_cast<size_t>(j * T + t)] += phat[static_cast<size_t>(t)] * go[j];
        }
        dp[static_cast<size_t>(t)] = acc;
      }
      if (want_alpha && prob_scale[h] > kMinProbScale)
        for (int64_t t = 0; t < T; ++t) {
          const float r = p[t] / alpha;
          const float g = r > static_cast<float>(Q) ? static_cast<float>(Q) : static_cast<float>(prob_code(p[t], alpha, Q)) - r;
          da += static_cast<double>(dp[static_cast<size_t>(t)]) * g;
        }
      if (dprobs_extra)  // another loss's gradient at p (after the quantiser's straight-through)
        for (int64_t t = 0; t < T; ++t) dp[static_cast<size_t>(t)] += dprobs_extra[((b * H + h) * T + i) * T + t];
      // softmax backward: ds = p (dp − Σ p dp), then through the scaled q̂·k̂ᵀ
      float dot = 0;
      for (int64_t t = 0; t < T; ++t) dot += p[t] * dp[static_cast<size_t>(t)];
      for (int64_t t = 0; t < T; ++t) {
        const float ds = p[t] * (dp[static_cast<size_t>(t)] - dot) * scale;
        for (int64_t d = 0; d < Dh; ++d) {
          dq[static_cast<size_t>(i * Dh + d)] += ds * tl.k[static_cast<size_t>(t * Dh + d)];
          dk[static_cast<size_t>(t * Dh + d)] += ds * tl.q[static_cast<size_t>(i * Dh + d)];
        }
      }
    }
    for (int64_t t = 0; t < T; ++t) {
      float* row = dqkv + (b * T + t) * 3 * D + h * Dh;
      for (int64_t j = 0; j < Dh; ++j) {
        row[j] = dq[static_cast<size_t>(t * Dh + j)];
        row[D + j] = dk[static_cast<size_t>(t * Dh + j)];
        row[2 * D + j] = dvt[static_cast<size_t>(j * T + t)];
      }
    }
    dalpha[static_cast<size_t>(task)] = da;
  });
  if (!want_alpha) return;
  for (int64_t h = 0; h < H; ++h) {
    double sum = 0;
    for (int64_t b = 0; b < B; ++b) sum += dalpha[static_cast<size_t>(b * H + h)];
    dprob_scale[h] += static_cast<float>(sum * attn_prob_base_step(aq.pv, T));
  }
}

}  // namespace bb
