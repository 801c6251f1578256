#include "datasets/idx.hpp"

#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "datasets/gz.hpp"

namespace bb {
namespace {
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

std::string find_file(const std::string& dir, const std::string& base) {
  for (const std::string& candidate : {base, base + ".gz"}) {
    std::string p = (std::filesystem::path(dir) / candidate).string();
    if (is_file_path(p)) return p;
  }
  throw Error::input(dir, "missing " + base + " (or " + base + ".gz)");
}
}  // namespace

IdxArray read_idx(const std::string& path, int ndims) {
  std::vector<uint8_t> b = read_maybe_gz(path);
  if (b.size() < 4) throw Error::input_at(path, 0, "truncated IDX file (" + std::to_string(b.size()) + " bytes)");
  if (b[0] != 0 || b[1] != 0 || b[3] == 0 || b[3] > 4)
    throw Error::input_at(path, 0, "wrong magic: not an IDX file");
  if (b[2] != 0x08) {
    char t[8];
    std::snprintf(t, sizeof t, "0x%02x", b[2]);
    throw Error::input_at(path, 2, std::string("IDX data type ") + t + " is not unsigned byte (0x08)");
  }
  if (b[3] != ndims)
    throw Error::input_at(path, 3, "IDX file has " + std::to_string(b[3]) + " dimensions, expected " +
                                       std::to_string(ndims) + (ndims == 3 ? " (an image file)" : " (a label file)"));
  size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (b.size() < header) throw Error::input_at(path, b.size(), "truncated IDX header");
  IdxArray a;
  uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    uint32_t d = be32(&b[4 + 4 * static_cast<size_t>(i)]);
    if (i > 0 && (d == 0 || d > 65535)) throw Error::input_at(path, 4 + 4 * i, "IDX dimension " + std::to_string(d) + " out of range");
    a.dims.push_back(d);
    count *= d;  // at most 2^32 * 2^16 * 2^16: fits
  }
  uint64_t have = b.size() - header;
  if (have < count)
    throw Error::input_at(path, b.size(), "truncated IDX data: header promises " + std::to_string(count) +
                                              " bytes, file holds " + std::to_string(have));
  if (have > count)
    throw Error::input_at(path, header + count, std::to_string(have - count) + " unexpected trailing bytes after the IDX data");
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

std::unique_ptr<Dataset> load_mnist_style(const std::string& name, const std::string& dir, const std::string& split,
                                          std::vector<std::string> class_names) {
  if (!is_dir_path(dir)) throw Error::input(dir, "no such directory");
  std::string prefix;
  if (split == "train") prefix = "train";
  else if (split == "test") prefix = "t10k";
  else throw Error::usage(name + " has splits train and test, not \"" + split + "\"");
  std::string img_path = find_file(dir, prefix + "-images-idx3-ubyte");
  std::string lbl_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(img_path, 3);
  IdxArray labels = read_idx(lbl_path, 1);
  if (images.dims[0] != labels.dims[0])
    throw Error::input(lbl_path, "holds " + std::to_string(labels.dims[0]) + " labels but " + img_path + " holds " +
                                     std::to_string(images.dims[0]) + " images");
  std::vector<int> lab(labels.data.size());
  for (size_t i = 0; i < lab.size(); ++i) {
    lab[i] = labels.data[i];
    if (lab[i] >= static_cast<int>(class_names.size()))
      throw Error::input_at(lbl_path, 8 + i, "label " + std::to_string(lab[i]) + " out of range for " +
                                                 std::to_string(class_names.size()) + " classes");
  }
  ImageShape shape{static_cast<int>(images.dims[1]), static_cast<int>(images.dims[2]), 1};
  return std::make_unique<InMemoryDataset>(name, split, dir, std::move(class_names), shape, std::move(images.data),
                                           std::move(lab), std::vector<std::string>{img_path},
                                           std::vector<size_t>{labels.dims[0]});
}

}  // namespace bb
