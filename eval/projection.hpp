#pragma once
// Weight memory of well-known model shapes under each storage format, from the
// same format traits the packer uses (kernels/quant_format.hpp): what "a 7B
// model in under 2 GB" takes, next to the ViTs this suite measures.
#include <nlohmann/json.hpp>

namespace bb {

// {"formats": [{name, bits_per_weight}], "models": [{name, params, quantized_params,
//   bytes: {format: whole model with the rest fp32}, bytes_rest_fp16: {...}, quantized_bytes: {...}}]}
nlohmann::ordered_json weight_memory_projection();

}  // namespace bb
