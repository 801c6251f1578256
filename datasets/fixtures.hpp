#pragma once
// Synthetic data sets in the published formats, for tests and benchmarks:
// deterministic images whose pattern depends on the class (so a model can
// learn them) plus seeded noise. Nothing here touches the network.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bb {

// HWC uint8 image of class `label` (1 or 3 channels).
cv::Mat synthetic_image(int height, int width, int channels, int label, uint64_t seed);

// IDX files (MNIST style) in dir: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
void write_mnist_fixture(const std::string& dir, int n_train, int n_test, bool gz, int side = 28, uint64_t seed = 1);
void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, bool gz);

// CIFAR-10 binary: data_batch_1..5.bin (n_per_batch each), test_batch.bin, batches.meta.txt.
void write_cifar10_fixture(const std::string& dir, int n_per_batch, int n_test, uint64_t seed = 2);
// CIFAR-100 binary: train.bin, test.bin, fine/coarse label name files.
void write_cifar100_fixture(const std::string& dir, int n_train, int n_test, uint64_t seed = 3);

// root/<class>/img_<k>.<ext> with ext "png" or "jpg".
void write_image_folder_fixture(const std::string& root, const std::vector<std::string>& classes, int per_class,
                                int width, int height, const std::string& ext, uint64_t seed = 4);

// A flat ImageNet-style val folder: dir/ILSVRC2012_val_%08d.JPEG plus a label
// file: "val_map" writes dir/val_map.txt (`file index`), "kaggle" writes
// dir/LOC_val_solution.csv and dir/LOC_synset_mapping.txt.
void write_imagenet_val_fixture(const std::string& dir, int n_images, int n_classes, const std::string& style,
                                int width = 64, int height = 48, uint64_t seed = 5);

// Encodes an image (RGB or gray) as PNG or JPEG bytes.
std::vector<uint8_t> encode_image(const cv::Mat& rgb_or_gray, const std::string& ext);

}  // namespace bb
