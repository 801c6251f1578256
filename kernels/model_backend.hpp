#pragma once
// The backends a model runs on, in one table: enum value, name (as configs and
// the command line write it) and what it runs. A name is parsed once, where a
// config or a flag is read; everything after passes the enum.
//
//   backend       a student runs                           an fp32 model runs
//   reference     fake-quant, naive loops                  naive loops
//   onednn        fake-quant, oneDNN fp32                  oneDNN fp32
//   fake-quant    as onednn (a bench config's name for a student's fake-quant forward)
//   bitkernels    quantised Linears on bitbench's bit kernels, the rest oneDNN fp32
//   onednn-int8   quantised Linears on oneDNN s8s8, the rest oneDNN fp32
#include <cstdint>
#include <span>
#include <string>

namespace bb {

enum class ModelBackend : uint8_t { kReference, kOnednn, kFakeQuant, kBitKernels, kOnednnInt8 };

struct ModelBackendRow {
  ModelBackend backend;
  const char* name;
  const char* description;
  bool reference_matrix;  // fp32 matrix work on the naive reference loops (else oneDNN)
  bool integer;           // a student's quantised Linears on an integer engine
  bool student_run;       // a bench config may name it under /students/backends
};

// Every backend, in enum order.
std::span<const ModelBackendRow> model_backends();
const ModelBackendRow& model_backend_row(ModelBackend b);
const char* model_backend_name(ModelBackend b);
// The row's name; Error(Usage) naming every backend otherwise.
ModelBackend parse_model_backend(const std::string& name);
// The names joined by ", " (every backend, or those a bench config's students may name).
std::string model_backend_names(bool student_run_only = false);

}  // namespace bb
