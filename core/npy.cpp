#include "core/npy.hpp"

#include <cstring>
#include <regex>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace bb {

NpyArray read_npy(const std::string& path) {
  std::vector<uint8_t> b = read_file_bytes(path);
  static const char kMagic[] = "\x93NUMPY";
  if (b.size() < 10 || std::memcmp(b.data(), kMagic, 6) != 0) throw Error::input_at(path, 0, "not a .npy file (bad magic)");
  int major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = b[8] | (b[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw Error::input_at(path, 8, "truncated .npy header");
    hlen = b[8] | (b[9] << 8) | (static_cast<size_t>(b[10]) << 16) | (static_cast<size_t>(b[11]) << 24);
    hstart = 12;
  } else {
    throw Error::input_at(path, 6, "unsupported .npy version " + std::to_string(major));
  }
  if (hstart + hlen > b.size()) throw Error::input_at(path, hstart, "truncated .npy header");
  std::string h(b.begin() + static_cast<long>(hstart), b.begin() + static_cast<long>(hstart + hlen));
  std::smatch m;
  if (!std::regex_search(h, m, std::regex("'descr':\\s*'([^']*)'")) || m[1] != "<f4")
    throw Error::input(path, "only little-endian float32 ('<f4') .npy arrays are supported");
  if (std::regex_search(h, m, std::regex("'fortran_order':\\s*True")))
    throw Error::input(path, "Fortran-order .npy arrays are not supported");
  if (!std::regex_search(h, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw Error::input(path, "no shape in .npy header");
  NpyArray a;
  std::string dims = m[1];
  std::regex num("\\d+");
  int64_t n = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it) {
    // Checked before multiplying: a lying header must not overflow the product.
    constexpr int64_t kMax = int64_t{1} << 40;
    if (it->length() > 13) throw Error::input(path, "absurd .npy dimension " + it->str());
    int64_t d = std::stoll(it->str());
    if (d > kMax) throw Error::input(path, "absurd .npy dimension " + it->str());
    a.shape.push_back(d);
    if (d != 0 && n > kMax / d) throw Error::input(path, "absurd .npy size (shape product above 2^40)");
    n *= d;
  }
  size_t data_at = hstart + hlen;
  if (b.size() - data_at != static_cast<size_t>(n) * 4)
    throw Error::input(path, ".npy holds " + std::to_string(b.size() - data_at) + " data bytes, shape needs " +
                                 std::to_string(n * 4));
  a.data.resize(static_cast<size_t>(n));
  if (n > 0) std::memcpy(a.data.data(), b.data() + data_at, static_cast<size_t>(n) * 4);  // n = 0: data() may be null (fuzz_npy)
  return a;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    n *= shape[i];
  }
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  out += h;
  if (n > 0) out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n) * 4);
  write_file_atomic(path, out);
}

}  // namespace bb
