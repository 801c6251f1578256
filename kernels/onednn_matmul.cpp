#include "kernels/onednn_matmul.hpp"

#include <dnnl.hpp>

#include <string>

#include "core/error.hpp"

namespace bb {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

struct OnednnMatmul::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul prim;
  memory src, wei, dst;
  int64_t M = 0;
};

OnednnMatmul::OnednnMatmul(OnednnMatmulType type, const void* w, const float* scales, int64_t M, int64_t N, int64_t K)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.M = M;
  const dt src_t = type == OnednnMatmulType::kF32 ? dt::f32 : type == OnednnMatmulType::kU8S8 ? dt::u8 : dt::s8;
  const dt wei_t = type == OnednnMatmulType::kF32 ? dt::f32 : dt::s8;
  memory::desc src_md({M, K}, src_t, tag::ab), dst_md({M, N}, dt::f32, tag::ab);
  memory::desc wei_any({K, N}, wei_t, tag::any), wei_user_md({K, N}, wei_t, tag::ba);  // W[N, K] is [K, N] "ba"
  dnnl::primitive_attr attr;
  if (type != OnednnMatmulType::kF32) attr.set_output_scales(1 << 1, std::vector<float>(scales, scales + N));
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_any, dst_md), attr, m.engine);
  } catch (const dnnl::error& e) {
    throw Error::usage(std::string("oneDNN has no matmul for this type and shape: ") + e.what());
  }
  m.prim = dnnl::matmul(pd);
  memory user(wei_user_md, m.engine, const_cast<void*>(w));
  m.wei = memory(pd.weights_desc(), m.engine);
  dnnl::reorder(user, m.wei).execute(m.stream, user, m.wei);
  m.stream.wait();
  m.src = memory(src_md, m.engine, nullptr);
  m.dst = memory(dst_md, m.engine, nullptr);
}

OnednnMatmul::~OnednnMatmul() = default;
OnednnMatmul::OnednnMatmul(OnednnMatmul&&) noexcept = default;

void OnednnMatmul::run(const void* x, float* y) {
  Impl& m = *impl_;
  m.src.set_data_handle(const_cast<void*>(x));
  m.dst.set_data_handle(y);
  m.prim.execute(m.stream, {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_WEIGHTS, m.wei}, {DNNL_ARG_DST, m.dst}});
  m.stream.wait();
}

int64_t OnednnMatmul::M() const { return impl_->M; }

}  // namespace bb
