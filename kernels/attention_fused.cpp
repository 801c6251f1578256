#include "kernels/attention_fused.hpp"

#include "kernels/fast_math.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vector_ops.hpp"

namespace bb {
namespace {

// Inner loops run over blocks of kW floats held in local arrays the compiler
// keeps in vector registers (one zmm, two ymm or four xmm), for kR rows of the
// head at once: kR independent FMA chains hide the FMA latency and each loaded
// K or V vector is used kR times. Tiles are padded with zeros to whole blocks
// (T to Tp columns, Dh to Dhp, rows to a multiple of kR).
constexpr int64_t kW = 16, kR = 4;
constexpr int64_t padded(int64_t n, int64_t to = kW) { return (n + to - 1) / to * to; }

// One head. q, k, v point at the head's first element inside qkv (row stride
// 3D); o at the head's slice of out (row stride D); s [T, T] its probabilities.
// Tiles: qs [Tr, Dh] (q · scale, Tr = T padded to kR rows), kt [Dh, Tp] (K
// transposed), vv [T, Dhp], rows [kR, Tp].
BB_INLINE void head_forward_body(const float* __restrict q, const float* __restrict k, const float* __restrict v,
                                 float* __restrict s, float* __restrict o, int64_t T, int64_t Dh, int64_t D,
                                 float scale, float* __restrict qs, float* __restrict kt, float* __restrict vv,
                                 float* __restrict rows) {
  const int64_t rs = 3 * D, Tp = padded(T), Dhp = padded(Dh), Tr = padded(T, kR);
  for (int64_t i = 0; i < Tr * Dh; ++i) qs[i] = 0;
  for (int64_t i = 0; i < Dh * Tp; ++i) kt[i] = 0;
  for (int64_t i = 0; i < T * Dhp; ++i) vv[i] = 0;
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < Dh; ++d) {
      qs[j * Dh + d] = q[j * rs + d] * scale;
      vv[j * Dhp + d] = v[j * rs + d];
    }
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < Dh; ++d) kt[d * Tp + j] = k[j * rs + d];
  for (int64_t i0 = 0; i0 < T; i0 += kR) {
    const float* qi = qs + i0 * Dh;
    for (int64_t j0 = 0; j0 < Tp; j0 += kW) {  // rows[r, j] = scale · q[i0 + r] · k[j]
      f32x16 acc[kR] = {};
      for (int64_t d = 0; d < Dh; ++d) {
        const f32x16 kv = BB_LOAD16(kt + d * Tp + j0);
        for (int64_t r = 0; r < kR; ++r) acc[r] += qi[r * Dh + d] * kv;
      }
      for (int64_t r = 0; r < kR; ++r) BB_STORE16(rows + r * Tp + j0, acc[r]);
    }
    const int64_t nr = T - i0 < kR ? T - i0 : kR;
    softmax_padded_rows<kR>(rows, T, Tp);  // the same floats as kR softmax_padded calls
    if (s)  // training keeps the probabilities for backward
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t j = 0; j < T; ++j) s[(i0 + r) * T + j] = rows[r * Tp + j];
    for (int64_t d0 = 0; d0 < Dhp; d0 += kW) {  // o[i0 + r] = rows[r] · V
      f32x16 acc[kR] = {};
      for (int64_t j = 0; j < T; ++j) {
        const f32x16 vj = BB_LOAD16(vv + j * Dhp + d0);
        for (int64_t r = 0; r < kR; ++r) acc[r] += rows[r * Tp + j] * vj;
      }
      const int64_t n = Dh - d0 < kW ? Dh - d0 : kW;
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t l = 0; l < n; ++l) o[(i0 + r) * D + d0 + l] = acc[r][l];
    }
  }
}
BB_MULTIVERSION(head_forward,
                (const float* q, const float* k, const float* v, float* s, float* o, int64_t T, int64_t Dh, int64_t D,
                 float scale, float* qs, float* kt, float* vv, float* rows),
                (q, k, v, s, o, T, Dh, D, scale, qs, kt, vv, rows))

// One head's backward. p [T, T] the saved softmax; go the head's slice of dout
// (row stride D); dq, dk, dv the head's slices of dqkv (row stride 3D).
// Tiles: qq [Tr, Dhp]; kk, dk_acc, dv_acc [T, Dhp]; vt [Dh, Tp]; pr, ds [kR, Tp]; g [kR, Dhp].
BB_INLINE void head_backward_body(const float* __restrict q, const float* __restrict k, const float* __restrict v,
                                  const float* __restrict p, const float* __restrict go, float* __restrict dq,
                                  float* __restrict dk, float* __restrict dv, int64_t T, int64_t Dh, int64_t D,
                                  float scale, float* __restrict qq, float* __restrict kk, float* __restrict vt,
                                  float* __restrict dk_acc, float* __restrict dv_acc, float* __restrict pr,
                                  float* __restrict ds, float* __restrict g) {
  const int64_t rs = 3 * D, Tp = padded(T), Dhp = padded(Dh), Tr = padded(T, kR);
  for (int64_t i = 0; i < Tr * Dhp; ++i) qq[i] = 0;
  for (int64_t i = 0; i < T * Dhp; ++i) kk[i] = dk_acc[i] = dv_acc[i] = 0;
  for (int64_t i = 0; i < Dh * Tp; ++i) vt[i] = 0;
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < Dh; ++d) {
      qq[j * Dhp + d] = q[j * rs + d];
      kk[j * Dhp + d] = k[j * rs + d];
    }
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < Dh; ++d) vt[d * Tp + j] = v[j * rs + d];
  for (int64_t i0 = 0; i0 < T; i0 += kR) {
    const int64_t nr = T - i0 < kR ? T - i0 : kR;
    // This block's rows of P and dO, zero beyond the last row and column.
    for (int64_t i = 0; i < kR * Tp; ++i) pr[i] = 0;
    for (int64_t i = 0; i < kR * Dhp; ++i) g[i] = 0;
    for (int64_t r = 0; r < nr; ++r) {
      for (int64_t j = 0; j < T; ++j) pr[r * Tp + j] = p[(i0 + r) * T + j];
      for (int64_t d = 0; d < Dh; ++d) g[r * Dhp + d] = go[(i0 + r) * D + d];
    }
    // dV[j] += sum_r P[i0 + r, j] dO[i0 + r]
    for (int64_t d0 = 0; d0 < Dhp; d0 += kW) {
      f32x16 gr[kR];
      for (int64_t r = 0; r < kR; ++r) gr[r] = BB_LOAD16(g + r * Dhp + d0);
      for (int64_t j = 0; j < T; ++j) {
        f32x16 acc = BB_LOAD16(dv_acc + j * Dhp + d0);
        for (int64_t r = 0; r < kR; ++r) acc += pr[r * Tp + j] * gr[r];
        BB_STORE16(dv_acc + j * Dhp + d0, acc);
      }
    }
    // dP[r, :] = dO[i0 + r] V^T
    for (int64_t j0 = 0; j0 < Tp; j0 += kW) {
      f32x16 acc[kR] = {};
      for (int64_t d = 0; d < Dh; ++d) {
        const f32x16 vd = BB_LOAD16(vt + d * Tp + j0);
        for (int64_t r = 0; r < kR; ++r) acc[r] += g[r * Dhp + d] * vd;
      }
      for (int64_t r = 0; r < kR; ++r) BB_STORE16(ds + r * Tp + j0, acc[r]);
    }
    // Through the softmax: dS = P (dP - <dP, P>) · scale (zero where P is padding).
    for (int64_t r = 0; r < kR; ++r) {
      f32x16 acc = {};
      for (int64_t j = 0; j < Tp; j += kW) acc += BB_LOAD16(ds + r * Tp + j) * BB_LOAD16(pr + r * Tp + j);
      float dot = 0;
      for (int64_t l = 0; l < kW; ++l) dot += acc[l];
      for (int64_t j = 0; j < Tp; ++j) ds[r * Tp + j] = pr[r * Tp + j] * (ds[r * Tp + j] - dot) * scale;
    }
    // dQ[i0 + r] = dS[r, :] K
    for (int64_t d0 = 0; d0 < Dhp; d0 += kW) {
      f32x16 acc[kR] = {};
      for (int64_t j = 0; j < T; ++j) {
        const f32x16 kj = BB_LOAD16(kk + j * Dhp + d0);
        for (int64_t r = 0; r < kR; ++r) acc[r] += ds[r * Tp + j] * kj;
      }
      const int64_t n = Dh - d0 < kW ? Dh - d0 : kW;
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t l = 0; l < n; ++l) dq[(i0 + r) * rs + d0 + l] = acc[r][l];
    }
    // dK[j] += sum_r dS[r, j] Q[i0 + r]
    for (int64_t d0 = 0; d0 < Dhp; d0 += kW) {
      f32x16 qr[kR];  // rows past T are zero in qq's padding (qq holds Tr rows)
      for (int64_t r = 0; r < kR; ++r) qr[r] = BB_LOAD16(qq + (i0 + r) * Dhp + d0);
      for (int64_t j = 0; j < T; ++j) {
        f32x16 acc = BB_LOAD16(dk_acc + j * Dhp + d0);
        for (int64_t r = 0; r < kR; ++r) acc += ds[r * Tp + j] * qr[r];
        BB_STORE16(dk_acc + j * Dhp + d0, acc);
      }
    }
  }
  for (int64_t j = 0; j < T; ++j)
    for (int64_t d = 0; d < Dh; ++d) {
      dk[j * rs + d] = dk_acc[j * Dhp + d];
      dv[j * rs + d] = dv_acc[j * Dhp + d];
    }
}
BB_MULTIVERSION(head_backward,
                (const float* q, const float* k, const float* v, const float* p, const float* go, float* dq, float* dk,
                 float* dv, int64_t T, int64_t Dh, int64_t D, float scale, float* qq, float* kk, float* vt,
                 float* dk_acc, float* dv_acc, float* pr, float* ds, float* g),
                (q, k, v, p, go, dq, dk, dv, T, Dh, D, scale, qq, kk, vt, dk_acc, dv_acc, pr, ds, g))

}  // namespace

void attention_fused(const float* qkv, float* probs, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                     float scale) {
  const int64_t D = H * Dh, Tp = padded(T), Dhp = padded(Dh), Tr = padded(T, kR);
#pragma omp parallel for collapse(2) schedule(static) if (parallel_pays_macs(B * H * T * T * Dh))
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      float* qs = scratch(0, static_cast<size_t>(Tr * Dh + Dh * Tp + T * Dhp + kR * Tp));
      float* kt = qs + Tr * Dh;
      float* vv = kt + Dh * Tp;
      const float* q = qkv + b * T * 3 * D + h * Dh;
      head_forward(q, q + D, q + 2 * D, probs ? probs + (b * H + h) * T * T : nullptr, out + b * T * D + h * Dh, T, Dh, D, scale, qs, kt,
                   vv, vv + T * Dhp);
    }
}

void attention_fused_backward(const float* qkv, const float* probs, const float* dout, float* dqkv, int64_t B,
                              int64_t T, int64_t H, int64_t Dh, float scale) {
  const int64_t D = H * Dh, Tp = padded(T), Dhp = padded(Dh), tile = padded(T, kR) * Dhp;
#pragma omp parallel for collapse(2) schedule(static) if (parallel_pays_macs(B * H * T * T * Dh))
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      float* t = scratch(0, static_cast<size_t>(4 * tile + Dh * Tp + 2 * kR * Tp + kR * Dhp));
      float* vt = t + 4 * tile;
      float* pr = vt + Dh * Tp;
      const float* q = qkv + b * T * 3 * D + h * Dh;
      float* dq = dqkv + b * T * 3 * D + h * Dh;
      head_backward(q, q + D, q + 2 * D, probs + (b * H + h) * T * T, dout + b * T * D + h * Dh, dq, dq + D,
                    dq + 2 * D, T, Dh, D, scale, t, t + tile, vt, t + 2 * tile, t + 3 * tile, pr, pr + kR * Tp,
                    pr + 2 * kR * Tp);
    }
}

}  // namespace bb
