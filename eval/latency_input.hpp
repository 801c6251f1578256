#pragma once
// The images latency is timed on (`run`'s sweep and `validate`): real images
// of the eval split, preprocessed as the accuracy pass sees them.
#include "core/tensor.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dataset_config.hpp"

namespace bb {

// The first `batch` images of the split (cycled when it is shorter), [batch, C, S, S].
Tensor latency_input(const Dataset& ds, const DataConfig& dc, int batch, int C, int S);

}  // namespace bb
