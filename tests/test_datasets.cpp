#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>

#include "datasets/cifar.hpp"
#include "datasets/class_map.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "datasets/gz.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_decode.hpp"
#include "datasets/image_encode.hpp"
#include "datasets/image_folder.hpp"
#include "datasets/pillow_decode.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

namespace fs = std::filesystem;
const std::vector<std::string> kTen = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

// ---------------------------------------------------------------- IDX

TEST(Idx, ReadsPlainAndGzipIdentically) {
  test::TempDir plain, gz;
  write_mnist_fixture(plain.str(), 30, 20, false);
  write_mnist_fixture(gz.str(), 30, 20, true);
  auto a = load_mnist_style("mnist", plain.str(), "train", kTen);
  auto b = load_mnist_style("mnist", gz.str(), "train", kTen);
  ASSERT_EQ(a->size(), 30u);
  ASSERT_EQ(b->size(), 30u);
  EXPECT_EQ(load_mnist_style("mnist", gz.str(), "test", kTen)->size(), 20u);
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ(a->label(i), static_cast<int>(i % 10));
    EXPECT_EQ(a->label(i), b->label(i));
    cv::Mat x = a->image(i), y = b->image(i);
    ASSERT_EQ(x.rows, 28);
    ASSERT_EQ(x.channels(), 1);
    EXPECT_EQ(cv::norm(x, y, cv::NORM_L1), 0.0);
  }
  // Pixels are those the fixture wrote, in row-major order.
  cv::Mat expect = synthetic_image(28, 28, 1, 3, 1 * 1000003 + 3 * 2);
  EXPECT_EQ(cv::norm(a->image(3), expect, cv::NORM_L1), 0.0);
}

TEST(Idx, WrongMagicTruncationAndTrailingBytes) {
  test::TempDir d;
  std::string p = d / "x-idx3-ubyte";
  write_idx(p, {2, 3, 3}, std::vector<uint8_t>(18, 7), false);
  EXPECT_EQ(read_idx(p, 3).data.size(), 18u);
  auto bytes = test::read_bytes(p);

  auto wrong = bytes;
  wrong[0] = 0x1f;
  wrong[1] = 0x00;
  test::write_bytes(p, wrong);
  test::expect_error([&] { read_idx(p, 3); }, {p, "wrong magic"});

  auto type = bytes;
  type[2] = 0x0D;  // float data
  test::write_bytes(p, type);
  test::expect_error([&] { read_idx(p, 3); }, {"data type 0x0d"});

  test::write_bytes(p, std::vector<uint8_t>(bytes.begin(), bytes.end() - 5));
  test::expect_error([&] { read_idx(p, 3); }, {p, "truncated IDX data", "promises 18 bytes, file holds 13"});

  auto longer = bytes;
  longer.push_back(0);
  test::write_bytes(p, longer);
  test::expect_error([&] { read_idx(p, 3); }, {"1 unexpected trailing bytes"});

  test::expect_error([&] { read_idx(p, 1); }, {"has 3 dimensions, expected 1"});
  test::write_bytes(p, {0, 0});
  test::expect_error([&] { read_idx(p, 3); }, {"truncated IDX file (2 bytes)"});
}

TEST(Idx, ImageLabelCountMismatchAndLabelRange) {
  test::TempDir d;
  write_mnist_fixture(d.str(), 10, 5, false);
  write_idx(d / "t10k-labels-idx1-ubyte", {4}, {0, 1, 2, 3}, false);
  test::expect_error([&] { load_mnist_style("mnist", d.str(), "test", kTen); },
                     {"t10k-labels-idx1-ubyte", "holds 4 labels but", "holds 5 images"});
  write_idx(d / "t10k-labels-idx1-ubyte", {5}, {0, 1, 12, 3, 4}, false);
  test::expect_error([&] { load_mnist_style("mnist", d.str(), "test", kTen); }, {"offset 10", "label 12 out of range"});
  fs::remove(d / "train-images-idx3-ubyte");
  test::expect_error([&] { load_mnist_style("mnist", d.str(), "train", kTen); }, {"missing train-images-idx3-ubyte"});
  test::expect_error([&] { load_mnist_style("mnist", d / "none", "train", kTen); }, {"none", "no such directory"});
}

TEST(Idx, CorruptAndTruncatedGzip) {
  test::TempDir d;
  write_mnist_fixture(d.str(), 10, 5, true);
  std::string p = d / "train-images-idx3-ubyte.gz";
  auto gz = test::read_bytes(p);
  auto cut = std::vector<uint8_t>(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2));
  test::write_bytes(p, cut);
  test::expect_error([&] { read_idx(p, 3); }, {p, "truncated gzip stream"});
  auto bad = gz;
  for (size_t i = 12; i < 40 && i < bad.size(); ++i) bad[i] ^= 0x5A;
  test::write_bytes(p, bad);
  test::expect_error([&] { read_idx(p, 3); }, {p, "gzip"});
  // A gzip bomb is stopped at the bound.
  std::vector<uint8_t> zeros(1 << 20, 0);
  EXPECT_THROW(gunzip(gzip(zeros), "bomb.gz", 1000), Error);
  EXPECT_EQ(gunzip(gzip(zeros), "ok.gz", 1 << 20).size(), zeros.size());
}

TEST(FashionMnist, DebianPackageIsReadAsPublished) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  ASSERT_TRUE(fs::is_directory(dir)) << "dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)";
  DatasetConfig c;
  auto train = open_dataset(c, "train");
  auto test = open_dataset(c, "test");
  EXPECT_EQ(train->size(), 60000u);
  EXPECT_EQ(test->size(), 10000u);
  EXPECT_EQ(test->class_names()[9], "Ankle boot");
  std::vector<int> counts(10, 0);
  for (size_t i = 0; i < test->size(); ++i) counts[static_cast<size_t>(test->label(i))]++;
  for (int n : counts) EXPECT_EQ(n, 1000);
  // The first test image is an ankle boot (label 9), as in every Fashion-MNIST copy.
  EXPECT_EQ(test->label(0), 9);
  EXPECT_EQ(train->label(0), 9);
  cv::Mat img = test->image(0);
  EXPECT_EQ(img.rows, 28);
  EXPECT_EQ(img.cols, 28);
}

// ---------------------------------------------------------------- CIFAR

TEST(Cifar, Cifar10RecordsAndNames) {
  test::TempDir d;
  write_cifar10_fixture(d.str(), 4, 6);
  auto train = load_cifar10(d.str(), "train");
  auto test = load_cifar10(d.str(), "test");
  EXPECT_EQ(train->size(), 20u);
  EXPECT_EQ(test->size(), 6u);
  EXPECT_EQ(test->class_names()[1], "automobile");
  // Record 2 of data_batch_3 (f = 3): label (2 + 3) % 10, planar -> HWC.
  size_t i = 2 * 4 + 2;
  EXPECT_EQ(train->label(i), 5);
  cv::Mat expect = synthetic_image(32, 32, 3, 5, 2 * 7919 + 3 * 100000 + 2);
  EXPECT_EQ(cv::norm(train->image(i), expect, cv::NORM_L1), 0.0);
  EXPECT_NE(train->origin(i).find("data_batch_3.bin: record 2"), std::string::npos) << train->origin(i);
}

TEST(Cifar, ParentFolderOfTheTarballIsAccepted) {
  test::TempDir d;
  write_cifar10_fixture(d / "cifar-10-batches-bin", 1, 2);
  EXPECT_EQ(load_cifar10(d.str(), "test")->size(), 2u);
}

TEST(Cifar, Cifar100FineAndCoarse) {
  test::TempDir d;
  write_cifar100_fixture(d.str(), 30, 10);
  auto fine = load_cifar100(d.str(), "train", "fine");
  auto coarse = load_cifar100(d.str(), "train", "coarse");
  EXPECT_EQ(fine->num_classes(), 100);
  EXPECT_EQ(coarse->num_classes(), 20);
  EXPECT_EQ(fine->class_names()[3], "fine_3");
  for (size_t i = 0; i < fine->size(); ++i) {
    EXPECT_EQ(fine->label(i), static_cast<int>((i * 7) % 100));
    EXPECT_EQ(coarse->label(i), fine->label(i) / 5);
  }
}

TEST(Cifar, BadSizeLabelRangeAndMissingFiles) {
  test::TempDir d;
  write_cifar10_fixture(d.str(), 2, 3);
  std::string p = d / "test_batch.bin";
  auto b = test::read_bytes(p);
  test::write_bytes(p, std::vector<uint8_t>(b.begin(), b.end() - 100));
  test::expect_error([&] { load_cifar10(d.str(), "test"); }, {p, "not a multiple of the 3073-byte record"});
  b[3073] = 10;  // label of record 1
  test::write_bytes(p, b);
  test::expect_error([&] { load_cifar10(d.str(), "test"); }, {p, "offset 3073", "label byte 10 out of range in record 1"});
  fs::remove(d / "data_batch_4.bin");
  test::expect_error([&] { load_cifar10(d.str(), "train"); }, {"data_batch_4.bin", "missing"});
  test::write_text(d / "batches.meta.txt", "a\nb\n");
  test::expect_error([&] { load_cifar10(d.str(), "test"); }, {"batches.meta.txt", "holds 2 class names, expected 10"});
  test::TempDir e;
  write_cifar100_fixture(e.str(), 3, 3);
  auto c = test::read_bytes(e / "test.bin");
  c[1] = 100;  // fine label
  test::write_bytes(e / "test.bin", c);
  test::expect_error([&] { load_cifar100(e.str(), "test"); }, {"offset 1", "label byte 100"});
}

// ---------------------------------------------------------------- images

TEST(ImageDecode, PngAndJpegRoundTrip) {
  cv::Mat img = synthetic_image(20, 30, 3, 1, 9);
  cv::Mat png = decode_image_bytes(encode_image(img, "png"), "a.png");
  EXPECT_EQ(cv::norm(png, img, cv::NORM_L1), 0.0);  // lossless, and RGB order kept
  cv::Mat jpg = decode_image_bytes(encode_image(img, "jpg"), "a.jpg");
  ASSERT_EQ(jpg.size(), img.size());
  EXPECT_LT(cv::norm(jpg, img, cv::NORM_L1) / (20 * 30 * 3), 12.0);
  // Grey is written as grey (decoding makes it RGB, as Pillow's convert does);
  // a view into a wider image (rows not contiguous) is encoded by its own pixels.
  cv::Mat grey = synthetic_image(17, 9, 1, 2, 3);
  cv::Mat g = decode_image_bytes(encode_png(grey), "g.png");
  ASSERT_EQ(g.channels(), 3);
  for (int c = 0; c < 3; ++c) {
    cv::Mat plane;
    cv::extractChannel(g, plane, c);
    EXPECT_EQ(cv::norm(plane, grey, cv::NORM_L1), 0.0);
  }
  cv::Mat roi = img(cv::Rect(3, 2, 11, 7));
  ASSERT_FALSE(roi.isContinuous());
  cv::Mat r = decode_image_bytes(encode_png(roi), "r.png");
  EXPECT_EQ(cv::norm(r, roi, cv::NORM_L1), 0.0);
  cv::Mat rj = decode_image_bytes(encode_jpeg(roi, 95), "r.jpg");
  ASSERT_EQ(rj.size(), roi.size());
  EXPECT_THROW(encode_png(cv::Mat(4, 4, CV_32FC1)), Error);
}

// ---------------------------------------------------------------- image budget
// Bytes for the checks below, built as tests/hostile/image_bytes.py builds them.

// Byte by byte: GCC 12 warns (-Warray-bounds, falsely) on vector::insert into these small vectors.
void append(std::vector<uint8_t>& b, std::initializer_list<int> bytes) {
  for (int v : bytes) b.push_back(static_cast<uint8_t>(v));
}
void append(std::vector<uint8_t>& b, const std::vector<uint8_t>& bytes) {
  for (uint8_t v : bytes) b.push_back(v);
}

void put_be16(std::vector<uint8_t>& b, int v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

void png_chunk(std::vector<uint8_t>& b, const char* type, const std::vector<uint8_t>& data) {
  put_be32(b, static_cast<uint32_t>(data.size()));
  const size_t at = b.size();
  for (int k = 0; k < 4; ++k) b.push_back(static_cast<uint8_t>(type[k]));
  append(b, data);
  put_be32(b, static_cast<uint32_t>(::crc32(0L, &b[at], static_cast<uInt>(4 + data.size()))));
}

std::vector<uint8_t> png_ihdr_data(uint32_t w, uint32_t h, uint8_t depth, uint8_t color, uint8_t interlace = 0) {
  std::vector<uint8_t> d;
  put_be32(d, w);
  put_be32(d, h);
  append(d, {depth, color, 0, 0, interlace});
  return d;
}

// The CRC of the IHDR chunk that starts at byte 8, after its data was edited.
void set_ihdr_crc(std::vector<uint8_t>& png) {
  const uint32_t crc = static_cast<uint32_t>(::crc32(0L, &png[12], 17));
  for (int k = 0; k < 4; ++k) png[29 + static_cast<size_t>(k)] = static_cast<uint8_t>(crc >> (24 - 8 * k));
}

void jpeg_segment(std::vector<uint8_t>& b, uint8_t marker, const std::vector<uint8_t>& payload) {
  append(b, {0xFF, marker});
  put_be16(b, static_cast<int>(payload.size()) + 2);
  append(b, payload);
}

// A progressive JPEG of w x h, `components` at 4:4:4, a DC scan and `ac_scans`
// AC scans of one data byte each: libjpeg fills the rest as grey.
std::vector<uint8_t> progressive_jpeg(int w, int h, int components, int ac_scans) {
  std::vector<uint8_t> b = {0xFF, 0xD8};
  std::vector<uint8_t> dqt(65, 1);
  dqt[0] = 0;
  jpeg_segment(b, 0xDB, dqt);
  std::vector<uint8_t> sof = {8};
  put_be16(sof, h);
  put_be16(sof, w);
  sof.push_back(static_cast<uint8_t>(components));
  for (int c = 1; c <= components; ++c) append(sof, {c, 0x11, 0});
  jpeg_segment(b, 0xC2, sof);
  for (uint8_t table : {0x00, 0x10}) {  // one 1-bit code: DC difference 0, AC end of block
    std::vector<uint8_t> dht = {table, 1};
    for (int k = 0; k < 16; ++k) dht.push_back(0);  // 15 more code lengths, then the one symbol: 0
    jpeg_segment(b, 0xC4, dht);
  }
  std::vector<uint8_t> dc = {static_cast<uint8_t>(components)};
  for (int c = 1; c <= components; ++c) append(dc, {c, 0});
  append(dc, {0, 0, 0});
  jpeg_segment(b, 0xDA, dc);
  b.push_back(0);
  for (int s = 0; s < ac_scans; ++s) {
    jpeg_segment(b, 0xDA, {1, 1, 0, 1, 63, 0});
    b.push_back(0);
  }
  append(b, {0xFF, 0xD9});
  return b;
}

std::vector<uint8_t> corpus_file(const std::string& rel) {
  return test::read_bytes(std::string(BITBENCH_SOURCE_DIR) + "/tests/hostile/" + rel);
}

// A progressive JPEG is read whole into coefficient buffers before any pixel
// comes out: those count, with the RGB and the file, against the budget, and
// the refusal comes before libjpeg allocates them.
TEST(ImageBudget, ProgressiveJpegCountsItsCoefficientBuffers) {
  const auto small = progressive_jpeg(64, 48, 3, 2);
  EXPECT_EQ(decode_image_bytes(small, "p.jpg").size(), cv::Size(64, 48));
  // The file, 64 x 48 x 3 bytes of RGB and 3 x 48 blocks x 128 bytes of
  // coefficients (libjpeg's rows and tables come on top).
  const uint64_t needed = small.size() + 64 * 48 * 3 + 3 * 48 * 128;
  test::expect_error([&] { decode_image_bytes(small, "p.jpg", needed); },
                     {"p.jpg", "multi-scan JPEG of 64x48", "9 KiB of RGB, 18 KiB of libjpeg coefficient buffers", "image budget"});
  EXPECT_EQ(decode_image_bytes(small, "p.jpg", needed + (2 << 20)).size(), cv::Size(64, 48));
  // 12000 x 12000 at 4:4:4: under Pillow's pixel limit, 1.2 GiB to decode.
  test::expect_error([&] { decode_image_bytes(corpus_file("data/images/progressive_12000_444.jpg"), "big.jpg"); },
                     {"big.jpg", "12000x12000", "824 MiB of libjpeg coefficient buffers", "1024 MiB"});
}

// Pillow's refusal point is bitbench's: 178 956 970 pixels.
TEST(ImageBudget, PixelLimitIsPillows) {
  EXPECT_EQ(kMaxImagePixels, 178956970);
  test::expect_error([&] { decode_image_bytes(corpus_file("data/images/progressive_16384.jpg"), "p.jpg"); },
                     {"p.jpg", "16384x16384", "178956970"});
}

// Scans are counted while the file's structure is walked, before decoding; a
// file of 1000 scans (the limit) decodes. libjpeg's progress hook counts them
// too, behind the walk.
TEST(ImageBudget, JpegScansAreCapped) {
  EXPECT_EQ(decode_image_bytes(progressive_jpeg(16, 16, 1, kMaxJpegScans - 1), "ok.jpg").size(), cv::Size(16, 16));
  const auto many = progressive_jpeg(16, 16, 1, kMaxJpegScans);
  test::expect_error([&] { decode_image_bytes(many, "many.jpg"); }, {"many.jpg", "1001 scans", "limit of 1000"});
  test::expect_error([&] { decode_jpeg_as_pillow(many, "many.jpg"); }, {"many.jpg", "more than 1000 scans"});
  test::expect_error([&] { decode_image_bytes(corpus_file("data/images/scans_10001.jpg"), "s.jpg"); },
                     {"s.jpg", "10001 scans"});
}

// libpng decodes the first IHDR: that is the size checked, and a second IHDR
// (libpng refuses it, after decoding the first image) is refused up front.
TEST(ImageBudget, PngSecondIhdrIsRefusedAndTheFirstIsChecked) {
  const auto png = encode_image(synthetic_image(8, 8, 3, 2, 3), "png");
  std::vector<uint8_t> two(png.begin(), png.end() - 12);  // up to IEND
  png_chunk(two, "IHDR", png_ihdr_data(1, 1, 8, 2));
  png_chunk(two, "IEND", {});
  test::expect_error([&] { decode_image_bytes(two, "two.png"); }, {"two.png", "second IHDR"});
  test::expect_error([&] { decode_image_bytes(corpus_file("data/imagefolder_second_ihdr/b/second_ihdr.png"), "s.png"); },
                     {"s.png", "second IHDR"});
}

// Rows go through one row buffer unless the PNG is interlaced; then libpng
// needs the whole image, counted against the budget.
TEST(ImageBudget, InterlacedPngCountsTheWholeImage) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  png_chunk(png, "IHDR", png_ihdr_data(10000, 10000, 16, 6, 1));
  png_chunk(png, "IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});  // zlib of nothing
  png_chunk(png, "IEND", {});
  test::expect_error([&] { decode_image_bytes(png, "i.png"); },
                     {"i.png", "interlaced PNG of 10000x10000", "the whole image", "image budget"});
  // Not interlaced, the same image needs its RGB and one row: within the budget (libpng then finds no data).
  png[8 + 8 + 12] = 0;
  set_ihdr_crc(png);
  test::expect_error([&] { decode_image_bytes(png, "n.png"); }, {"n.png", "cannot decode PNG"});
}

// Pillow checks the CRC of every chunk before the first IDAT and no other;
// bitbench refuses and reads the same files (Pillow itself is compared in
// test_transforms, PillowDecode.*).
TEST(ImageBudget, PngCrcsAreCheckedWherePillowChecksThem) {
  const auto png = encode_image(synthetic_image(8, 8, 3, 2, 3), "png");
  const std::vector<uint8_t> head(png.begin(), png.begin() + 33), tail(png.begin() + 33, png.end());
  std::vector<uint8_t> text;
  png_chunk(text, "tEXt", {'a', 0, 'b'});
  text.back() ^= 1;
  std::vector<uint8_t> before = head;
  append(before, text);
  append(before, tail);
  test::expect_error([&] { decode_image_bytes(before, "b.png"); }, {"b.png", "CRC error in its tEXt chunk"});
  std::vector<uint8_t> after(png.begin(), png.end() - 12);
  append(after, text);
  append(after, std::vector<uint8_t>(png.end() - 12, png.end()));
  EXPECT_EQ(cv::norm(decode_image_bytes(after, "a.png"), decode_image_bytes(png, "p.png"), cv::NORM_INF), 0.0);
}

// libjpeg stops at EOI and Pillow with it: bytes after it, FF DA among them,
// are not the image's.
TEST(ImageBudget, BytesAfterJpegEoiAreIgnored) {
  const auto jpg = encode_image(synthetic_image(16, 16, 3, 2, 3), "jpg");
  std::vector<uint8_t> trailing = jpg;
  append(trailing, {0x00, 0xFF, 0xDA, 0x00, 0x0C, 'j', 'u', 'n', 'k', 0xFF, 0xD8});
  EXPECT_EQ(cv::norm(decode_image_bytes(trailing, "t.jpg"), decode_image_bytes(jpg, "j.jpg"), cv::NORM_INF), 0.0);
}

TEST(ImageDecode, HostileFilesAreRefusedBeforeDecoding) {
  cv::Mat img = synthetic_image(16, 16, 3, 2, 3);
  auto png = encode_image(img, "png");
  auto jpg = encode_image(img, "jpg");
  test::expect_error([&] { decode_image_bytes(std::vector<uint8_t>(png.begin(), png.end() - 20), "t.png"); },
                     {"t.png", "truncated PNG"});
  test::expect_error([&] { decode_image_bytes(std::vector<uint8_t>(jpg.begin(), jpg.end() - 30), "t.jpg"); },
                     {"t.jpg", "truncated JPEG"});
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  test::expect_error([&] { decode_image_bytes(text, "n.jpg"); }, {"n.jpg", "not a JPEG or PNG"});
  // A PNG header claiming 100000 x 100000 pixels.
  auto huge = png;
  for (int k : {16, 20}) {
    huge[static_cast<size_t>(k)] = 0;
    huge[static_cast<size_t>(k) + 1] = 0x01;
    huge[static_cast<size_t>(k) + 2] = 0x86;
    huge[static_cast<size_t>(k) + 3] = 0xA0;
  }
  set_ihdr_crc(huge);
  test::expect_error([&] { decode_image_bytes(huge, "huge.png"); }, {"huge.png", "100000x100000", "above the limit"});
  EXPECT_TRUE(has_image_extension("a/b.JPEG"));
  EXPECT_TRUE(has_image_extension("x.png"));
  EXPECT_FALSE(has_image_extension("x.txt"));
}

TEST(NaturalSort, OrdersLikeTimm) {
  std::vector<std::string> v = {"img10", "img2", "Img1", "b", "a", "img02x"};
  std::sort(v.begin(), v.end(), natural_less);
  EXPECT_EQ(v, (std::vector<std::string>{"a", "b", "Img1", "img2", "img02x", "img10"}));
}

TEST(ImageFolder, ClassesSortedFilesFoundNonImagesSkipped) {
  test::TempDir d;
  write_image_folder_fixture(d.str(), {"class10", "class2", "Apple"}, 3, 24, 16, "png");
  write_image_folder_fixture(d / "class2", {"nested"}, 1, 24, 16, "jpg");  // images below a class folder count
  test::write_text(d / "class2/README.txt", "not an image");
  test::write_text(d / ".hidden", "x");
  auto ds = load_image_folder(d.str());
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"Apple", "class2", "class10"}));
  EXPECT_EQ(ds->size(), 10u);
  EXPECT_EQ(ds->skipped().size(), 1u);
  EXPECT_EQ(ds->label(0), 0);
  EXPECT_EQ(ds->label(9), 2);
  cv::Mat img = ds->image(0);
  EXPECT_EQ(img.rows, 16);
  EXPECT_EQ(img.cols, 24);
  EXPECT_EQ(img.channels(), 3);
}

TEST(ImageFolder, EmptyClassCorruptJpegAndMissingRoot) {
  test::TempDir d;
  write_image_folder_fixture(d.str(), {"a", "b"}, 2, 16, 16, "jpg");
  fs::create_directories(d / "c_empty");
  test::expect_error([&] { load_image_folder(d.str()); }, {"c_empty", "class folder holds no images"});
  fs::remove(d / "c_empty");
  auto good = test::read_bytes(d / "a/img_0.jpg");
  test::write_bytes(d / "a/img_0.jpg", std::vector<uint8_t>(good.begin(), good.begin() + 200));
  test::write_text(d / "b/img_1.jpg", "this is text, not a JPEG");
  auto ds = load_image_folder(d.str());
  test::expect_error([&] { ds->image(0); }, {"a/img_0.jpg", "JPEG"});
  test::expect_error([&] { ds->image(3); }, {"b/img_1.jpg", "not a JPEG or PNG"});
  test::expect_error([&] { load_image_folder(d / "missing"); }, {"missing", "no such directory"});
  test::TempDir empty;
  test::expect_error([&] { load_image_folder(empty.str()); }, {"no class folders"});
}

// Hostile layouts: a directory symlink looping back up (and one to the root)
// cannot trap the walk; a dangling link and a link to itself (ELOOP) are
// refused at listing time with their names, at the top level as well as inside
// a class.
TEST(ImageFolder, SymlinkLoopsAreNotFollowedAndBrokenLinksFailCleanly) {
  test::TempDir d;
  write_image_folder_fixture(d.str(), {"a", "b"}, 2, 16, 16, "png");
  fs::create_directory_symlink(d / "a", d / "a/loop");
  fs::create_directory_symlink(d.str(), d / "b/root");
  auto ds = load_image_folder(d.str());
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(ds->size(), 4u);
  for (size_t i = 0; i < ds->size(); ++i) EXPECT_EQ(ds->image(i).rows, 16);

  fs::create_symlink(d / "nowhere.png", d / "b/dangling.png");
  test::expect_error([&] { load_image_folder(d.str()); }, {"b/dangling.png", "dangling symbolic link"});
  fs::remove(d / "b/dangling.png");
  fs::create_symlink(d / "b/self.png", d / "b/self.png");
  test::expect_error([&] { load_image_folder(d.str()); }, {"b/self.png", "cannot be read", "symbolic links"});
  fs::remove(d / "b/self.png");
  fs::create_symlink(d / "c", d / "c");
  test::expect_error([&] { load_image_folder(d.str()); }, {"/c", "cannot be read", "symbolic links"});
}

TEST(ImageFolder, SplitSubfolderIsUsedWhenPresent) {
  test::TempDir d;
  write_image_folder_fixture(d / "train", {"x", "y"}, 2, 8, 8, "png");
  write_image_folder_fixture(d / "val", {"x", "y"}, 1, 8, 8, "png");
  DatasetConfig c;
  c.name = "imagefolder";
  c.data_dir = d.str();
  EXPECT_EQ(open_dataset(c, "train")->size(), 4u);
  EXPECT_EQ(open_dataset(c, "val")->size(), 2u);
}

// ---------------------------------------------------------------- ImageNet

TEST(Imagenet, ValMapStyle) {
  test::TempDir d;
  write_imagenet_val_fixture(d / "val", 9, 4, "val_map");
  auto ds = load_imagenet(d.str(), "val", {});
  ASSERT_EQ(ds->size(), 9u);
  EXPECT_EQ(ds->num_classes(), 4);
  for (size_t i = 0; i < ds->size(); ++i) EXPECT_EQ(ds->label(i), static_cast<int>((i * 3) % 4));
  EXPECT_NE(ds->origin(0).find("ILSVRC2012_val_00000001.JPEG"), std::string::npos);
  EXPECT_EQ(ds->image(8).cols, 64);
}

TEST(Imagenet, KaggleSolutionCsvWithSynsetMapping) {
  test::TempDir d;
  write_imagenet_val_fixture(d.str(), 7, 5, "kaggle");
  auto ds = load_imagenet_flat(d.str(), {});
  ASSERT_EQ(ds->size(), 7u);
  EXPECT_EQ(ds->num_classes(), 5);
  EXPECT_EQ(ds->class_names()[2], "thing 2");
  for (size_t i = 0; i < ds->size(); ++i) EXPECT_EQ(ds->label(i), static_cast<int>((i * 3) % 5));
}

TEST(Imagenet, LabelFileProblemsAreNamed) {
  test::TempDir d;
  write_imagenet_val_fixture(d.str(), 4, 3, "val_map");
  fs::remove(d / "ILSVRC2012_val_00000003.JPEG");
  test::expect_error([&] { load_imagenet_flat(d.str(), {}); },
                     {"val_map.txt", "names image ILSVRC2012_val_00000003.JPEG that is missing"});
  test::write_text(d / "val_map.txt", "ILSVRC2012_val_00000001.JPEG\n");
  test::expect_error([&] { load_imagenet_flat(d.str(), {}); }, {"val_map.txt", "line 1", "expected `<file> <label>`"});
  test::write_text(d / "val_map.txt", "ILSVRC2012_val_00000001.JPEG n0001\n");
  test::expect_error([&] { load_imagenet_flat(d.str(), {}); }, {"synset ids but no LOC_synset_mapping.txt"});
  // A file name longer than the filesystem allows (found by fuzz_labels) is a
  // missing image, not an escaping filesystem_error.
  test::write_text(d / "val_map.txt", "ILSVRC2012_val_00000001.JPEG 0\n" + std::string(300, 'o') + ".JPEG 1\n");
  test::expect_error([&] { load_imagenet_flat(d.str(), {}); }, {"val_map.txt", "names image oooo", "missing"});
  // The class list is sized by the largest label: a lying one is refused first.
  test::write_text(d / "val_map.txt", "ILSVRC2012_val_00000001.JPEG 999999999\n");
  test::expect_error([&] { load_imagenet_flat(d.str(), {}); }, {"val_map.txt", "label 999999999", "above the limit of 1048576 classes"});
  fs::remove(d / "val_map.txt");
  test::expect_error([&] { load_imagenet_flat(d.str(), {}); }, {"without a label file"});
  test::TempDir k;
  write_imagenet_val_fixture(k.str(), 3, 2, "kaggle");
  test::write_text(k / "LOC_val_solution.csv", "ImageId,PredictionString\nILSVRC2012_val_00000001,n99999999 1 2 3 4\n");
  test::expect_error([&] { load_imagenet_flat(k.str(), {}); }, {"synset n99999999", "is not in"});
}


// ------------------------------------------------------------ class maps (issue #31)

// An ImageFolder-style data set of named classes, two items each (nothing is decoded).
FileListDataset folder_set(const std::vector<std::string>& names, const std::string& kind = "imagefolder") {
  std::vector<FileListDataset::Item> items;
  for (size_t c = 0; c < names.size(); ++c)
    for (int k = 0; k < 2; ++k) items.push_back({"root/" + names[c] + "/" + std::to_string(k) + ".png", static_cast<int>(c)});
  return FileListDataset(kind, "val", "root", names, items);
}

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

TEST(ClassMap, FoldersMatchTheCheckpointsClassNamesByName) {
  // Folders in natural order, as the reader lists them; "T-shirt_top" for a name no folder can hold.
  const FileListDataset ds = folder_set({"Ankle boot", "Bag", "Coat", "Dress", "Pullover", "Sandal", "Shirt", "Sneaker", "T-shirt_top", "Trouser"});
  const ClassMap m = resolve_class_map(ds, 10, kFashion, "", "teacher.safetensors");
  EXPECT_FALSE(m.identity);
  EXPECT_EQ(m.to_model, (std::vector<int>{9, 8, 4, 3, 2, 5, 6, 7, 0, 1}));
  EXPECT_NE(m.source.find("class names"), std::string::npos);
  const RelabeledDataset r(ds, m);
  EXPECT_EQ(r.label(0), 9);   // an "Ankle boot" image is class 9
  EXPECT_EQ(r.label(19), 1);  // a "Trouser" image is class 1
  EXPECT_EQ(r.class_names(), kFashion);
  EXPECT_EQ(m.fields(ds)["mapping"]["Trouser"], 1);
  // The same names in the same order: the identity.
  EXPECT_TRUE(resolve_class_map(folder_set(kFashion), 10, kFashion, "", "t").identity);
}

TEST(ClassMap, UnmatchedOrUnnamedIsRefusedNeverGuessed) {
  const FileListDataset ds = folder_set({"cat", "dog", "Trouser"});
  test::expect_error([&] { resolve_class_map(ds, 10, kFashion, "", "teacher.safetensors"); },
                     {"teacher.safetensors", "2 of the data set's 3 classes are not among its class names", "\"cat\", \"dog\"",
                      "--class-map"});
  // A checkpoint without class names: folder indices mean nothing to it.
  test::expect_error([&] { resolve_class_map(ds, 10, {}, "", "bare.safetensors"); },
                     {"labels are folder indices", "bare.safetensors names no classes", "--class-map by-index"}, ErrorKind::Usage);
  // Unless the user says so.
  const ClassMap by_index = resolve_class_map(ds, 10, {}, kClassMapByIndex, "bare.safetensors");
  EXPECT_TRUE(by_index.identity);
  EXPECT_NE(by_index.source.find("by-index"), std::string::npos);
  // A published format's labels are its own class indices.
  const FileListDataset fm = folder_set({"0", "1"}, "fashion-mnist");
  EXPECT_TRUE(resolve_class_map(fm, 10, {}, "", "bare.safetensors").identity);
  // ImageNet as its 1000 synset folders: ImageNet-1k's class order.
  std::vector<std::string> synsets;
  for (int i = 0; i < 1000; ++i) {
    std::string id = std::to_string(10000000 + i);
    synsets.push_back(id.insert(0, 1, 'n'));
  }
  EXPECT_TRUE(resolve_class_map(folder_set(synsets, "imagenet"), 1000, {}, "", "deit.safetensors").identity);
  // ... but not a subset of them: which 10 of the 1000 is not known from indices.
  synsets.resize(10);
  EXPECT_THROW(resolve_class_map(folder_set(synsets, "imagenet"), 1000, {}, "", "deit.safetensors"), Error);
}

TEST(ClassMap, ClassMapFileAsTimmsOneNamePerLine) {
  test::TempDir d;
  // LOC_synset_mapping.txt style: the first word matches a folder.
  test::write_text(d / "map.txt", "n01 tench, Tinca tinca\nn02 goldfish\r\n\nn03 great white shark\n");
  const FileListDataset ds = folder_set({"n02", "n03"});
  const ClassMap m = resolve_class_map(ds, 5, {}, d / "map.txt", "m.safetensors");
  EXPECT_EQ(m.to_model, (std::vector<int>{1, 2}));
  EXPECT_EQ(m.model_class_names, (std::vector<std::string>{"n01 tench, Tinca tinca", "n02 goldfish", "n03 great white shark", "3", "4"}));
  test::write_text(d / "dup.txt", "a\nb\na\n");
  test::expect_error([&] { resolve_class_map(ds, 5, {}, d / "dup.txt", "m"); }, {"dup.txt", "names \"a\" twice (lines 1 and 3)"});
  test::write_text(d / "long.txt", "a\nb\nc\n");
  test::expect_error([&] { resolve_class_map(ds, 2, {}, d / "long.txt", "m"); }, {"long.txt", "names 3 classes, the model has 2"});
  test::expect_error([&] { resolve_class_map(ds, 5, {}, d / "long.txt", "m"); }, {"long.txt", "\"n02\", \"n03\""});
}

}  // namespace
}  // namespace bb
