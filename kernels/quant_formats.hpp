#pragma once
// Packed weight formats as data (ggml's type traits): one row per format with
// its bits per weight, how many weights a block holds and in how many bytes,
// and pack/unpack between signed integer codes and bytes. Rows of a matrix are
// packed separately (each padded to whole blocks), so row n starts at byte
// n · row_bytes(K). The bit-kernel issue adds the GEMM entry points per ISA.
//
//   tq1   ternary, base 3: 5 codes per byte, byte = Σ (c_i + 1) · 3^i (1.6 bits/weight; files)
//   tq2   ternary, 2 bits: 4 codes per byte, code c in bits 2i..2i+1 as c + 1
//   b1    binary, 1 bit:   8 codes per byte, bit i set for +1 (LSB first)
//   q2    2-bit signed:    4 per byte as c + 2 (codes -2..1; BitNet W2 uses -1..1)
//   q4    4-bit signed:    2 per byte as c + 8, low nibble first
//   q8    8-bit signed:    1 per byte (two's complement)
#include <cstddef>
#include <cstdint>
#include <string>

namespace bb {

enum class PackedFormat : uint8_t { kTq1, kTq2, kB1, kQ2, kQ4, kQ8 };

struct PackedFormatTraits {
  PackedFormat format;
  const char* name;
  double bits_per_weight;  // storage, padding excluded
  int block;               // codes per block
  int block_bytes;         // bytes per block
  int min_code, max_code;  // codes the format can hold
  void (*pack)(const int8_t* codes, int64_t n, uint8_t* out);    // n codes -> row_bytes(n) bytes
  void (*unpack)(const uint8_t* in, int64_t n, int8_t* codes);  // inverse
};

const PackedFormatTraits& packed_traits(PackedFormat f);
// By name ("tq1", ...); Error(Usage) for unknown names.
const PackedFormatTraits& packed_traits(const std::string& name);
// Bytes of one packed row of K codes.
int64_t row_bytes(const PackedFormatTraits& t, int64_t K);

}  // namespace bb
