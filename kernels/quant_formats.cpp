#include "kernels/quant_formats.hpp"

#include "core/error.hpp"

namespace bb {
namespace {

// --- ternary base 3 -----------------------------------------------------------
void pack_tq1(const int8_t* c, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; i += 5) {
    int v = 0;
    for (int j = 4; j >= 0; --j) v = v * 3 + (i + j < n ? c[i + j] + 1 : 1);  // padding codes are 0
    out[i / 5] = static_cast<uint8_t>(v);
  }
}
void unpack_tq1(const uint8_t* in, int64_t n, int8_t* c) {
  for (int64_t i = 0; i < n; i += 5) {
    int v = in[i / 5];
    for (int j = 0; j < 5; ++j, v /= 3)
      if (i + j < n) c[i + j] = static_cast<int8_t>(v % 3 - 1);
  }
}

// --- fixed-width fields: `Bits` bits per code stored as code + Bias -----------
template <int Bits, int Bias>
void pack_bits(const int8_t* c, int64_t n, uint8_t* out) {
  constexpr int per = 8 / Bits;
  for (int64_t i = 0; i < n; i += per) {
    unsigned v = 0;
    for (int j = 0; j < per; ++j) v |= static_cast<unsigned>(i + j < n ? c[i + j] + Bias : Bias) << (j * Bits);
    out[i / per] = static_cast<uint8_t>(v);
  }
}
template <int Bits, int Bias>
void unpack_bits(const uint8_t* in, int64_t n, int8_t* c) {
  constexpr int per = 8 / Bits;
  constexpr unsigned mask = (1u << Bits) - 1;
  for (int64_t i = 0; i < n; ++i) c[i] = static_cast<int8_t>(static_cast<int>((in[i / per] >> ((i % per) * Bits)) & mask) - Bias);
}

// --- binary: bit set for +1 ----------------------------------------------------
void pack_b1(const int8_t* c, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; i += 8) {
    unsigned v = 0;
    for (int j = 0; j < 8 && i + j < n; ++j) v |= (c[i + j] > 0 ? 1u : 0u) << j;
    out[i / 8] = static_cast<uint8_t>(v);
  }
}
void unpack_b1(const uint8_t* in, int64_t n, int8_t* c) {
  for (int64_t i = 0; i < n; ++i) c[i] = (in[i / 8] >> (i % 8)) & 1 ? 1 : -1;
}

void pack_q8(const int8_t* c, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(c[i]);
}
void unpack_q8(const uint8_t* in, int64_t n, int8_t* c) {
  for (int64_t i = 0; i < n; ++i) c[i] = static_cast<int8_t>(in[i]);
}

const PackedFormatTraits kTraits[] = {
    {PackedFormat::kTq1, "tq1", 1.6, 5, 1, -1, 1, pack_tq1, unpack_tq1},
    {PackedFormat::kTq2, "tq2", 2.0, 4, 1, -1, 1, pack_bits<2, 1>, unpack_bits<2, 1>},
    {PackedFormat::kB1, "b1", 1.0, 8, 1, -1, 1, pack_b1, unpack_b1},
    {PackedFormat::kQ2, "q2", 2.0, 4, 1, -2, 1, pack_bits<2, 2>, unpack_bits<2, 2>},
    {PackedFormat::kQ4, "q4", 4.0, 2, 1, -8, 7, pack_bits<4, 8>, unpack_bits<4, 8>},
    {PackedFormat::kQ8, "q8", 8.0, 1, 1, -128, 127, pack_q8, unpack_q8},
};

}  // namespace

const PackedFormatTraits& packed_traits(PackedFormat f) { return kTraits[static_cast<int>(f)]; }

const PackedFormatTraits& packed_traits(const std::string& name) {
  for (const auto& t : kTraits)
    if (name == t.name) return t;
  throw Error::usage("unknown packed weight format \"" + name + "\" (known: tq1, tq2, b1, q2, q4, q8)");
}

int64_t row_bytes(const PackedFormatTraits& t, int64_t K) { return (K + t.block - 1) / t.block * t.block_bytes; }

}  // namespace bb
