// The oneDNN backend (oneDNN 2.x API as Debian ships it). Each distinct shape
// gets its primitive and memory objects once; later calls only swap data
// handles and execute, so the hot path creates and allocates nothing.
#include <dnnl.hpp>

#include <map>
#include <tuple>
#include <unordered_map>

#include "kernels/backend.hpp"

namespace bb {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Prim {
  dnnl::matmul prim;
  memory src, wei, bias, dst;
  std::unordered_map<int, memory> args;
};

class OnednnBackend final : public Backend {
 public:
  OnednnBackend() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
  const char* name() const override { return "onednn"; }

  void linear(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K) override {
    Key key{0, M, N, K, b != nullptr, 0.0f};
    Prim& p = get(key, [&] {
      Prim q;
      memory::desc src_md({M, K}, dt::f32, tag::ab);
      memory::desc wei_md({K, N}, dt::f32, tag::ba);  // W[N, K] read as W^T[K, N]
      memory::desc dst_md({M, N}, dt::f32, tag::ab);
      memory::desc bias_md({1, N}, dt::f32, tag::ab);
      auto d = b ? dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md) : dnnl::matmul::desc(src_md, wei_md, dst_md);
      q.prim = dnnl::matmul(dnnl::matmul::primitive_desc(d, engine_));
      q.src = memory(src_md, engine_, nullptr);
      q.wei = memory(wei_md, engine_, nullptr);
      q.dst = memory(dst_md, engine_, nullptr);
      q.args = {{DNNL_ARG_SRC, q.src}, {DNNL_ARG_WEIGHTS, q.wei}, {DNNL_ARG_DST, q.dst}};
      if (b) {
        q.bias = memory(bias_md, engine_, nullptr);
        q.args[DNNL_ARG_BIAS] = q.bias;
      }
      return q;
    });
    p.src.set_data_handle(const_cast<float*>(x));
    p.wei.set_data_handle(const_cast<float*>(w));
    if (b) p.bias.set_data_handle(const_cast<float*>(b));
    p.dst.set_data_handle(y);
    p.prim.execute(stream_, p.args);
    stream_.wait();
  }

  void attention(const float* qkv, float* scores, float* out, int64_t B, int64_t T, int64_t H, int64_t Dh,
                 float scale) override {
    const int64_t D = H * Dh;
    // q k^T: q as [B, H, T, Dh] and k^T as [B, H, Dh, T], both strided views into qkv.
    Prim& qk = get(Key{1, B, T, H, Dh, scale}, [&] {
      Prim q;
      memory::desc q_md({B, H, T, Dh}, dt::f32, memory::dims{T * 3 * D, Dh, 3 * D, 1});
      memory::desc kt_md({B, H, Dh, T}, dt::f32, memory::dims{T * 3 * D, Dh, 1, 3 * D});
      memory::desc s_md({B, H, T, T}, dt::f32, tag::abcd);
      dnnl::primitive_attr attr;
      attr.set_output_scales(0, {scale});
      q.prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, kt_md, s_md), attr, engine_));
      q.src = memory(q_md, engine_, nullptr);
      q.wei = memory(kt_md, engine_, nullptr);
      q.dst = memory(s_md, engine_, nullptr);
      q.args = {{DNNL_ARG_SRC, q.src}, {DNNL_ARG_WEIGHTS, q.wei}, {DNNL_ARG_DST, q.dst}};
      return q;
    });
    // scores · v: v as [B, H, T, Dh] strided in qkv; out written as [B, T, H, Dh].
    Prim& av = get(Key{2, B, T, H, Dh, 0.0f}, [&] {
      Prim q;
      memory::desc s_md({B, H, T, T}, dt::f32, tag::abcd);
      memory::desc v_md({B, H, T, Dh}, dt::f32, memory::dims{T * 3 * D, Dh, 3 * D, 1});
      memory::desc o_md({B, H, T, Dh}, dt::f32, memory::dims{T * D, Dh, D, 1});
      q.prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(s_md, v_md, o_md), engine_));
      q.src = memory(s_md, engine_, nullptr);
      q.wei = memory(v_md, engine_, nullptr);
      q.dst = memory(o_md, engine_, nullptr);
      q.args = {{DNNL_ARG_SRC, q.src}, {DNNL_ARG_WEIGHTS, q.wei}, {DNNL_ARG_DST, q.dst}};
      return q;
    });
    auto* base = const_cast<float*>(qkv);
    qk.src.set_data_handle(base);
    qk.wei.set_data_handle(base + D);
    qk.dst.set_data_handle(scores);
    qk.prim.execute(stream_, qk.args);
    stream_.wait();
    const int64_t rows = B * H * T;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r += 16) softmax_rows(scores + r * T, std::min<int64_t>(16, rows - r), T);
    av.src.set_data_handle(scores);
    av.wei.set_data_handle(base + 2 * D);
    av.dst.set_data_handle(out);
    av.prim.execute(stream_, av.args);
    stream_.wait();
  }

 private:
  using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, float>;  // kind, dims, scale
  template <class Make>
  Prim& get(const Key& key, Make&& make) {
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, make()).first;
    return it->second;
  }
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<Key, Prim> cache_;
};

}  // namespace

std::unique_ptr<Backend> make_onednn_backend() { return std::make_unique<OnednnBackend>(); }

}  // namespace bb
