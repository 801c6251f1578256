// The oneDNN backend (oneDNN 2.x API as Debian ships it). Each distinct
// matmul (shape, strides, attributes) gets its primitive and memory objects
// once; later calls only swap data handles and execute, so the hot path creates
// and allocates nothing. Attention reads q, k, v and writes its gradients
// through strided 4-D descriptors straight into the fused qkv buffers.
#include <dnnl.hpp>

#include <algorithm>
#include <map>
#include <utility>
#include <tuple>
#include <unordered_map>

#include "core/threads.hpp"
#include "kernels/attention_fused.hpp"
#include "kernels/backend.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vector_ops.hpp"

namespace bb {
namespace {

using dnnl::memory;
using dims = memory::dims;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Prim {
  int threads = 1;  // the count it was made for
  dnnl::matmul prim;
  memory src, wei, bias, dst;
  std::unordered_map<int, memory> args;
};

// Which matmul a cached primitive is: an id for the call site and its sizes.
using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, float>;
// ... and the thread count it was made for: oneDNN fixes a primitive's thread
// count when it creates it, so one made at 1 thread and reused at 2 runs on
// one (a latency sweep timed its 2-thread points on 1-thread primitives).
// A primitive whose work is too small to pay for a parallel region
// (kernels/parallel.hpp) is made and run at 1 thread whatever the count.
using CacheKey = std::pair<Key, int>;
// Multiply-adds of a keyed matmul: ids 0, 10, 11 are Linears (M, N, K), the
// others attention (B, T, H, Dh).
int64_t macs_of(const Key& k) {
  const int id = std::get<0>(k);
  const int64_t a = std::get<1>(k), b = std::get<2>(k), c = std::get<3>(k), d = std::get<4>(k);
  return id == 0 || id >= 10 ? a * b * c : a * b * b * c * d;
}

class OnednnBackend final : public Backend {
 public:
  explicit OnednnBackend(int64_t fused_max_tokens)
      : fused_max_tokens_(fused_max_tokens), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
  const char* name() const override { return "onednn"; }
  int64_t cached_primitives() const override { return static_cast<int64_t>(cache_.size()); }

  void linear(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) override {
    Prim& p = get(Key{0, M, N, K, b != nullptr, 0.0f}, [&] {
      return make({M, K}, dims{K, 1}, {K, N}, dims{1, K}, {M, N}, dims{N, 1}, b != nullptr, 1.0f, false);
    });
    run(p, x, w, y, b);
  }

  void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t M,
                       int64_t N, int64_t K) override {
    if (dx) {  // dx[M, K] = dy[M, N] · W[N, K]
      Prim& p = get(Key{10, M, N, K, 0, 0.0f}, [&] {
        return make({M, N}, dims{N, 1}, {N, K}, dims{K, 1}, {M, K}, dims{K, 1}, false, 1.0f, false);
      });
      run(p, dy, w, dx, nullptr);
    }
    // dW[N, K] += dy^T[N, M] · x[M, K]  (sum post-op accumulates)
    Prim& p = get(Key{11, M, N, K, 0, 0.0f}, [&] {
      return make({N, M}, dims{1, N}, {M, K}, dims{K, 1}, {N, K}, dims{K, 1}, false, 1.0f, true);
    });
    run(p, dy, x, dw, nullptr);
    if (db) column_sums_add(dy, db, M, N);
  }

  void attention(const float* qkv, float* scores, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                 float scale) override {
    if (T <= fused_max_tokens_ && Dh <= 16) return attention_fused(qkv, scores, out, B, T, H, Dh, scale);
    if (!scores) {
      // Inference keeps no probabilities: the scores of as many images as
      // threads at a time (each image's H·T·T floats L2-sized) live in scratch,
      // not B·H·T·T in the arena. (kernels/attention_infer.hpp, fused, measured
      // slower than this route: see its header.)
      const int64_t D = H * Dh, chunk = std::min<int64_t>(B, num_threads());
      float* s = scratch(1, static_cast<size_t>(chunk * H * T * T));
      for (int64_t b = 0; b < B; b += chunk) {
        const int64_t n = std::min(chunk, B - b);
        attention(qkv + b * T * 3 * D, s, out + b * T * D, n, T, H, Dh, scale);
      }
      return;
    }
    const int64_t D = H * Dh;
    const dims in_rows{T * 3 * D, Dh, 3 * D, 1};  // q, k or v as [B, H, T, Dh] inside qkv
    const dims in_cols{T * 3 * D, Dh, 1, 3 * D};  // the same, transposed: [B, H, Dh, T]
    const dims dense{H * T * T, T * T, T, 1};     // [B, H, T, T]
    const dims out_rows{T * D, Dh, D, 1};         // [B, H, T, Dh] written as [B, T, H, Dh]
    Prim& qk = get(Key{1, B, T, H, Dh, scale}, [&] {
      return make({B, H, T, Dh}, in_rows, {B, H, Dh, T}, in_cols, {B, H, T, T}, dense, false, scale, false);
    });
    Prim& av = get(Key{2, B, T, H, Dh, 0.0f}, [&] {
      return make({B, H, T, T}, dense, {B, H, T, Dh}, in_rows, {B, H, T, Dh}, out_rows, false, 1.0f, false);
    });
    run(qk, qkv, qkv + D, scores, nullptr);  // scores = q k^T · scale
    softmax_rows_fast(scores, B * H * T, T);
    run(av, scores, qkv + 2 * D, out, nullptr);  // out = softmax · v
  }

  void attention_backward(const float* qkv, const float* probs, const float* dout, float* dqkv, float* ds, int64_t B,
                          int64_t T, int64_t H, int64_t Dh, float scale) override {
    if (T <= fused_max_tokens_ && Dh <= 16) return attention_fused_backward(qkv, probs, dout, dqkv, B, T, H, Dh, scale);
    const int64_t D = H * Dh;
    const dims in_rows{T * 3 * D, Dh, 3 * D, 1}, in_cols{T * 3 * D, Dh, 1, 3 * D};
    const dims dense{H * T * T, T * T, T, 1}, dense_t{H * T * T, T * T, 1, T};
    const dims out_rows{T * D, Dh, D, 1};
    // dV = P^T · dO
    Prim& dv = get(Key{3, B, T, H, Dh, 0.0f}, [&] {
      return make({B, H, T, T}, dense_t, {B, H, T, Dh}, out_rows, {B, H, T, Dh}, in_rows, false, 1.0f, false);
    });
    // dP = dO · V^T
    Prim& dp = get(Key{4, B, T, H, Dh, 0.0f}, [&] {
      return make({B, H, T, Dh}, out_rows, {B, H, Dh, T}, in_cols, {B, H, T, T}, dense, false, 1.0f, false);
    });
    // dQ = dS · K ;  dK = dS^T · Q
    Prim& dq = get(Key{5, B, T, H, Dh, 0.0f}, [&] {
      return make({B, H, T, T}, dense, {B, H, T, Dh}, in_rows, {B, H, T, Dh}, in_rows, false, 1.0f, false);
    });
    Prim& dk = get(Key{6, B, T, H, Dh, 0.0f}, [&] {
      return make({B, H, T, T}, dense_t, {B, H, T, Dh}, in_rows, {B, H, T, Dh}, in_rows, false, 1.0f, false);
    });
    run(dv, probs, dout, dqkv + 2 * D, nullptr);
    run(dp, dout, qkv + 2 * D, ds, nullptr);
    const int64_t rows = B * H * T;
#pragma omp parallel for schedule(static) if (parallel_pays(rows * T))
    for (int64_t r = 0; r < rows; r += 16)
      softmax_backward_rows(probs + r * T, ds + r * T, std::min<int64_t>(16, rows - r), T, scale);
    run(dq, ds, qkv + D, dqkv, nullptr);
    run(dk, ds, qkv, dqkv + D, nullptr);
  }

 private:
  // A matmul dst = scale · (src · wei) (+ bias) (+ dst when accumulate), any strides.
  Prim make(const dims& sd, const dims& ss, const dims& wd, const dims& ws, const dims& dd, const dims& ds, bool bias,
            float scale, bool accumulate) {
    Prim q;
    memory::desc src_md(sd, dt::f32, ss), wei_md(wd, dt::f32, ws), dst_md(dd, dt::f32, ds);
    memory::desc bias_md({1, dd.back()}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    if (scale != 1.0f) attr.set_output_scales(0, {scale});
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    auto d = bias ? dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md) : dnnl::matmul::desc(src_md, wei_md, dst_md);
    q.prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, engine_));
    q.src = memory(src_md, engine_, nullptr);
    q.wei = memory(wei_md, engine_, nullptr);
    q.dst = memory(dst_md, engine_, nullptr);
    q.args = {{DNNL_ARG_SRC, q.src}, {DNNL_ARG_WEIGHTS, q.wei}, {DNNL_ARG_DST, q.dst}};
    if (bias) {
      q.bias = memory(bias_md, engine_, nullptr);
      q.args[DNNL_ARG_BIAS] = q.bias;
    }
    return q;
  }

  void run(Prim& p, const float* src, const float* wei, float* dst, const float* bias) {
    p.src.set_data_handle(const_cast<float*>(src));
    p.wei.set_data_handle(const_cast<float*>(wei));
    p.dst.set_data_handle(dst);
    if (bias) p.bias.set_data_handle(const_cast<float*>(bias));
    ThreadCountGuard at(p.threads);
    p.prim.execute(stream_, p.args);
    stream_.wait();
  }

  template <class Make>
  Prim& get(const Key& key, Make&& make_fn) {
    const int threads = threads_for_macs(macs_of(key));
    const CacheKey k{key, threads};
    auto it = cache_.find(k);
    if (it == cache_.end()) {
      ThreadCountGuard at(threads);
      it = cache_.emplace(k, make_fn()).first;
      it->second.threads = threads;
    }
    return it->second;
  }

  int64_t fused_max_tokens_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<CacheKey, Prim> cache_;
};

}  // namespace

std::unique_ptr<Backend> make_onednn_backend(int64_t fused_attention_max_tokens) {
  return std::make_unique<OnednnBackend>(fused_attention_max_tokens);
}

}  // namespace bb
