#pragma once
// LayerNorm of rows, the one body every caller uses: the model's norms
// (models/layers.cpp, with affine weights) and BitNet's SubLN inside the
// activation quantiser (kernels/act_quant.cpp, without).
#include <cstdint>

namespace bb {

// out[rows, D] = (x - mean) / sqrt(var + eps) (· w + b when w is given), per
// row (biased variance, as PyTorch); mean, rstd [rows] stored when non-null.
// Serial, vectorised for the active ISA; callers parallelise over rows.
void layernorm_rows(const float* x, const float* w, const float* b, float* out, int64_t rows, int64_t D, float eps,
                    float* mean, float* rstd);

}  // namespace bb
