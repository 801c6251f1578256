#include "datasets/fixtures.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "datasets/gz.hpp"
#include "datasets/image_encode.hpp"

namespace fs = std::filesystem;

namespace bb {

cv::Mat synthetic_image(int height, int width, int channels, int label, uint64_t seed) {
  // Stripes whose angle and frequency encode the class, a class-dependent
  // brightness and colour phase, and uniform noise: easy to learn, not trivial.
  Rng rng(seed, Stream::kFixture, static_cast<uint64_t>(label));
  cv::Mat img(height, width, CV_8UC(channels));
  const double angle = 0.2 + 0.3927 * (label % 8);
  const double base = 60 + 13 * (label % 10);
  const double freq = 0.25 + 0.07 * (label % 5);
  const double ca = std::cos(angle), sa = std::sin(angle);
  const double phase = rng.uniform(0, 6.283);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x) {
      double t = (x * ca + y * sa) * freq * 28.0 / std::max(28, std::min(width, height)) + phase;
      for (int c = 0; c < channels; ++c) {
        double v = base + 60 * std::sin(t + c * (0.5 + 0.2 * label)) + rng.uniform(-15, 15);
        row[x * channels + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    }
  }
  return img;
}

void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, bool gz) {
  std::vector<uint8_t> b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  write_file_atomic(path, gz ? gzip(b) : b);
}

void write_mnist_fixture(const std::string& dir, int n_train, int n_test, bool gz, int side, uint64_t seed) {
  make_dirs(dir);
  for (auto [prefix, n] : {std::pair<const char*, int>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<uint8_t> px, lab;
    for (int i = 0; i < n; ++i) {
      int label = i % 10;
      cv::Mat img = synthetic_image(side, side, 1, label, seed * 1000003 + static_cast<uint64_t>(i) * 2 + (std::string(prefix) == "t10k"));
      px.insert(px.end(), img.data, img.data + side * side);
      lab.push_back(static_cast<uint8_t>(label));
    }
    std::string ext = gz ? ".gz" : "";
    write_idx((fs::path(dir) / (std::string(prefix) + "-images-idx3-ubyte" + ext)).string(),
              {static_cast<uint32_t>(n), static_cast<uint32_t>(side), static_cast<uint32_t>(side)}, px, gz);
    write_idx((fs::path(dir) / (std::string(prefix) + "-labels-idx1-ubyte" + ext)).string(), {static_cast<uint32_t>(n)},
              lab, gz);
  }
}

namespace {
// One CIFAR record: label bytes then planar RGB.
void append_record(std::vector<uint8_t>& out, const std::vector<uint8_t>& labels, const cv::Mat& rgb) {
  out.insert(out.end(), labels.begin(), labels.end());
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 32 * 32; ++i) out.push_back(rgb.data[i * 3 + c]);
}
}  // namespace

void write_cifar10_fixture(const std::string& dir, int n_per_batch, int n_test, uint64_t seed) {
  make_dirs(dir);
  for (int f = 0; f <= 5; ++f) {
    int n = f == 0 ? n_test : n_per_batch;
    std::vector<uint8_t> b;
    for (int i = 0; i < n; ++i) {
      int label = (i + f) % 10;
      append_record(b, {static_cast<uint8_t>(label)}, synthetic_image(32, 32, 3, label, seed * 7919 + f * 100000 + i));
    }
    std::string name = f == 0 ? "test_batch.bin" : "data_batch_" + std::to_string(f) + ".bin";
    write_file_atomic((fs::path(dir) / name).string(), b);
  }
  write_file_atomic((fs::path(dir) / "batches.meta.txt").string(),
                    std::string("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"));
}

void write_cifar100_fixture(const std::string& dir, int n_train, int n_test, uint64_t seed) {
  make_dirs(dir);
  for (auto [name, n] : {std::pair<const char*, int>{"train.bin", n_train}, {"test.bin", n_test}}) {
    std::vector<uint8_t> b;
    for (int i = 0; i < n; ++i) {
      int fine = (i * 7) % 100;
      append_record(b, {static_cast<uint8_t>(fine / 5), static_cast<uint8_t>(fine)},
                    synthetic_image(32, 32, 3, fine, seed * 7919 + static_cast<uint64_t>(i) + (name[1] == 'e') * 500000));
    }
    write_file_atomic((fs::path(dir) / name).string(), b);
  }
  std::string fine, coarse;
  for (int i = 0; i < 100; ++i) fine += "fine_" + std::to_string(i) + "\n";
  for (int i = 0; i < 20; ++i) coarse += "coarse_" + std::to_string(i) + "\n";
  write_file_atomic((fs::path(dir) / "fine_label_names.txt").string(), fine);
  write_file_atomic((fs::path(dir) / "coarse_label_names.txt").string(), coarse);
}

std::vector<uint8_t> encode_image(const cv::Mat& img, const std::string& ext) {
  if (ext == "jpg" || ext == "jpeg") return encode_jpeg(img, 90);
  if (ext == "png") return encode_png(img);
  throw Error::runtime("", "cannot encode image as " + ext + " (jpg, jpeg or png)");
}

void write_image_folder_fixture(const std::string& root, const std::vector<std::string>& classes, int per_class,
                                int width, int height, const std::string& ext, uint64_t seed) {
  for (size_t c = 0; c < classes.size(); ++c) {
    fs::path cdir = fs::path(root) / classes[c];
    make_dirs(cdir.string());
    for (int k = 0; k < per_class; ++k) {
      cv::Mat img = synthetic_image(height, width, 3, static_cast<int>(c), seed * 104729 + c * 1000 + static_cast<uint64_t>(k));
      write_file_atomic((cdir / ("img_" + std::to_string(k) + "." + ext)).string(), encode_image(img, ext));
    }
  }
}

void write_imagenet_val_fixture(const std::string& dir, int n_images, int n_classes, const std::string& style, int width,
                                int height, uint64_t seed) {
  make_dirs(dir);
  std::vector<std::string> synsets;
  for (int c = 0; c < n_classes; ++c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "n%08d", 1000000 + c * 37);
    synsets.push_back(buf);
  }
  std::string labels = style == "kaggle" ? "ImageId,PredictionString\n" : "";
  for (int i = 0; i < n_images; ++i) {
    char stem[64];
    std::snprintf(stem, sizeof stem, "ILSVRC2012_val_%08d", i + 1);
    int label = (i * 3) % n_classes;
    cv::Mat img = synthetic_image(height, width, 3, label, seed * 15485863 + static_cast<uint64_t>(i));
    write_file_atomic((fs::path(dir) / (std::string(stem) + ".JPEG")).string(), encode_image(img, "jpg"));
    if (style == "kaggle")
      labels += std::string(stem) + "," + synsets[static_cast<size_t>(label)] + " 1 2 30 40 " +
                synsets[static_cast<size_t>(label)] + " 5 6 20 20\n";
    else
      labels += std::string(stem) + ".JPEG " + std::to_string(label) + "\n";
  }
  if (style == "kaggle") {
    write_file_atomic((fs::path(dir) / "LOC_val_solution.csv").string(), labels);
    std::string map;
    for (int c = 0; c < n_classes; ++c) map += synsets[static_cast<size_t>(c)] + " thing " + std::to_string(c) + ", other\n";
    write_file_atomic((fs::path(dir) / "LOC_synset_mapping.txt").string(), map);
  } else {
    write_file_atomic((fs::path(dir) / "val_map.txt").string(), labels);
  }
}

}  // namespace bb
