#include "kernels/model_backend.hpp"

#include "core/error.hpp"

namespace bb {
namespace {

constexpr ModelBackendRow kRows[] = {
    {ModelBackend::kReference, "reference", "naive loops, obviously right; a student's Linears fake-quant", true, false, false},
    {ModelBackend::kOnednn, "onednn", "oneDNN fp32; a student's Linears fake-quant", false, false, false},
    {ModelBackend::kFakeQuant, "fake-quant", "as onednn: a student's fake-quant forward on oneDNN fp32", false, false, true},
    {ModelBackend::kBitKernels, "bitkernels", "a student's quantised Linears on bitbench's bit kernels, the rest oneDNN fp32", false, true, true},
    {ModelBackend::kOnednnInt8, "onednn-int8", "a student's quantised Linears on oneDNN s8s8, the rest oneDNN fp32", false, true, true},
};
static_assert(static_cast<int>(kRows[4].backend) == 4, "rows in enum order");

}  // namespace

std::span<const ModelBackendRow> model_backends() { return kRows; }

const ModelBackendRow& model_backend_row(ModelBackend b) { return kRows[static_cast<size_t>(b)]; }

const char* model_backend_name(ModelBackend b) { return model_backend_row(b).name; }

ModelBackend parse_model_backend(const std::string& name) {
  for (const ModelBackendRow& r : kRows)
    if (name == r.name) return r.backend;
  throw Error::usage("unknown backend \"" + name + "\" (known: " + model_backend_names() + ")");
}

std::string model_backend_names(bool student_run_only) {
  std::string out;
  for (const ModelBackendRow& r : kRows)
    if (!student_run_only || r.student_run) out += (out.empty() ? "" : ", ") + std::string(r.name);
  return out;
}

}  // namespace bb
