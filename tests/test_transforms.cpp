#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/fixtures.hpp"
#include "datasets/image_decode.hpp"
#include "datasets/loader.hpp"
#include "datasets/pillow_resize.hpp"
#include "datasets/transforms.hpp"
#include "isa_paths.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

TransformConfig gray28() {
  TransformConfig t;
  t.img_size = 28;
  t.crop_pct = 1.0;
  t.in_chans = 1;
  t.mean = {0.25};
  t.std = {0.5};
  return t;
}

TEST(EvalTransform, NormalisesPixelsExactly) {
  cv::Mat img = synthetic_image(28, 28, 1, 4, 11);
  std::vector<float> out(28 * 28);
  eval_transform(img, gray28(), out.data());
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      EXPECT_NEAR(out[static_cast<size_t>(y * 28 + x)], (img.at<uint8_t>(y, x) / 255.0 - 0.25) / 0.5, 1e-6);
}

TEST(EvalTransform, TimmGeometryResizeShorterSideThenCenterCrop) {
  // 375 x 500 (H x W) to 224 at crop_pct 0.875: shorter side -> floor(224 / 0.875) = 256,
  // width -> int(256 * 500 / 375) = 341, crop offsets top 16, left round(58.5) = 58
  // (Python rounds half to even). With nearest resizing, output column 0 reads
  // source column floor(58 * 500 / 341) = 85; the pixel value is its column.
  cv::Mat img(375, 500, CV_8UC1);
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) img.at<uint8_t>(y, x) = static_cast<uint8_t>(x % 251);
  cv::Mat out = resize_center_crop(img, 224, 0.875, "nearest");
  ASSERT_EQ(out.rows, 224);
  ASSERT_EQ(out.cols, 224);
  EXPECT_EQ(out.at<uint8_t>(0, 0), 85);
  // Portrait images crop the height the same way.
  cv::Mat tall = resize_center_crop(img.t(), 224, 0.875, "bilinear");
  EXPECT_EQ(tall.rows, 224);
  EXPECT_EQ(tall.cols, 224);
}

TEST(EvalTransform, ChannelConversions) {
  TransformConfig t3 = gray28();
  t3.in_chans = 3;
  t3.mean = {0.1, 0.2, 0.3};
  t3.std = {1, 1, 1};
  cv::Mat gray = synthetic_image(28, 28, 1, 2, 5);
  std::vector<float> out(3 * 28 * 28);
  eval_transform(gray, t3, out.data());
  for (int i = 0; i < 28 * 28; ++i) {  // gray repeated: channels differ only by their mean
    EXPECT_NEAR(out[static_cast<size_t>(i)] - out[static_cast<size_t>(784 + i)], 0.1, 1e-6);
    EXPECT_NEAR(out[static_cast<size_t>(i)] - out[static_cast<size_t>(2 * 784 + i)], 0.2, 1e-6);
  }
  cv::Mat rgb(28, 28, CV_8UC3, cv::Scalar(200, 100, 50));
  std::vector<float> g(28 * 28);
  TransformConfig t1 = gray28();
  t1.mean = {0};
  t1.std = {1};
  eval_transform(rgb, t1, g.data());
  // PIL "L": (200*299 + 100*587 + 50*114) / 1000 = 124.25 -> 124
  EXPECT_NEAR(g[0] * 255.0f, 124.0f, 1e-3);
}

TEST(TrainTransform, FlipPadAndDeterminism) {
  cv::Mat img = synthetic_image(28, 28, 1, 7, 3);
  TransformConfig t = gray28();
  AugmentConfig flip_only;
  flip_only.pad = 0;
  flip_only.hflip = 1.0;
  std::vector<float> ev(784), tr(784);
  eval_transform(img, t, ev.data());
  Rng r1(5);
  train_transform(img, t, flip_only, r1, tr.data());
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) EXPECT_EQ(tr[static_cast<size_t>(y * 28 + x)], ev[static_cast<size_t>(y * 28 + 27 - x)]);

  AugmentConfig pad;
  pad.pad = 3;
  pad.hflip = 0.5;
  std::vector<float> a(784), b(784);
  Rng ra(99), rb(99);
  train_transform(img, t, pad, ra, a.data());
  train_transform(img, t, pad, rb, b.data());
  EXPECT_EQ(a, b);
  // Over several draws some output is shifted: zero padding (-mean/std) appears.
  bool saw_padding = false, saw_difference = false;
  for (uint64_t s = 0; s < 20; ++s) {
    Rng r(s);
    train_transform(img, t, pad, r, a.data());
    if (a != ev) saw_difference = true;
    for (float v : a) saw_padding |= v == -0.5f;
  }
  EXPECT_TRUE(saw_difference);
  EXPECT_TRUE(saw_padding);
}

TEST(TrainTransform, RandomResizedCropGivesTargetSize) {
  cv::Mat img = synthetic_image(60, 90, 3, 1, 3);
  TransformConfig t;
  t.img_size = 32;
  t.crop_pct = 1;
  t.in_chans = 3;
  t.mean = {0.5, 0.5, 0.5};
  t.std = {0.5, 0.5, 0.5};
  AugmentConfig a;
  a.random_resized_crop = true;
  a.hflip = 0;
  std::vector<float> x(3 * 32 * 32), y(3 * 32 * 32);
  Rng r1(1), r2(1), r3(2);
  train_transform(img, t, a, r1, x.data());
  train_transform(img, t, a, r2, y.data());
  EXPECT_EQ(x, y);
  train_transform(img, t, a, r3, y.data());
  EXPECT_NE(x, y);
  for (float v : x) {
    EXPECT_GE(v, -1.0f - 1e-6f);
    EXPECT_LE(v, 1.0f + 1e-6f);
  }
}

// Pillow's Image.resize, byte for byte: Pillow itself (python3-pil, installed
// by the test set-up) resizes random grayscale and RGB images of odd sizes with
// every filter, shrinking and enlarging; bitbench's pillow_resize must give the
// same bytes.
TEST(PillowResize, EqualsPillowByteForByteForEveryFilter) {
  test::TempDir d;
  // Debian's interpreter (its python3-pil), not whatever python3 comes first on PATH.
  const std::string gen = std::string("/usr/bin/python3 ") + BITBENCH_SOURCE_DIR + "/tests/gen_pillow_resize.py " + d.str();
  ASSERT_EQ(std::system(gen.c_str()), 0) << "tests/gen_pillow_resize.py failed: is python3-pil installed "
                                            "(bash scripts/install-deps.sh --test)?";
  std::ifstream cases(d / "cases.txt");
  std::string line;
  int checked = 0;
  while (std::getline(cases, line)) {
    std::istringstream in(line);
    int i, w, h, c, ow, oh;
    std::string filter;
    ASSERT_TRUE(static_cast<bool>(in >> i >> w >> h >> c >> ow >> oh >> filter)) << line;
    SCOPED_TRACE(line);
    const std::string src_bytes = test::read_text(d / ("case_" + std::to_string(i) + ".in"));
    const std::string want = test::read_text(d / ("case_" + std::to_string(i) + ".out"));
    cv::Mat src(h, w, c == 1 ? CV_8UC1 : CV_8UC3, const_cast<char*>(src_bytes.data()));
    ASSERT_EQ(want.size(), static_cast<size_t>(ow) * oh * c);
    const cv::Mat want_m(oh, ow, src.type(), const_cast<char*>(want.data()));
    // A region of the output (what a center crop keeps): the same bytes.
    const int rw = std::max(1, ow * 2 / 3), rh = std::max(1, oh / 2);
    const cv::Rect roi((ow - rw) / 2, oh - rh, rw, rh);
    test::for_each_isa([&] {
      const cv::Mat got = pillow_resize(src, ow, oh, parse_pillow_filter(filter));
      ASSERT_EQ(got.cols, ow);
      ASSERT_EQ(got.rows, oh);
      EXPECT_EQ(cv::norm(got, want_m, cv::NORM_L1), 0.0) << "bytes differ from Pillow's";
      const cv::Mat part = pillow_resize(src, ow, oh, parse_pillow_filter(filter), roi);
      ASSERT_EQ(part.size(), roi.size());
      EXPECT_EQ(cv::norm(part, want_m(roi), cv::NORM_L1), 0.0) << "region bytes differ from Pillow's";
    });
    ++checked;
  }
  EXPECT_EQ(checked, 120);  // 10 sizes × 2 modes × 6 filters
}

// resize "pillow" in the transform config sends the eval geometry through
// pillow_resize (timm's Resize(256) then CenterCrop(224)); "opencv" through
// cv::resize, whose bytes differ when shrinking; "area" is refused with pillow.
TEST(EvalTransform, ResizePillowUsesPillowsResize) {
  cv::Mat img(375, 500, CV_8UC3);
  Rng r(11);
  for (int i = 0; i < img.rows * img.cols * 3; ++i) img.data[i] = static_cast<uint8_t>(r.below(256));
  const cv::Mat pil = resize_center_crop(img, 224, 0.875, "bicubic", "pillow");
  const cv::Mat want = pillow_resize(img, 341, 256, PillowFilter::kBicubic)(cv::Rect(58, 16, 224, 224));
  ASSERT_EQ(pil.size(), want.size());
  EXPECT_EQ(cv::norm(pil, want, cv::NORM_INF), 0.0);
  const cv::Mat ocv = resize_center_crop(img, 224, 0.875, "bicubic", "opencv");
  EXPECT_GT(cv::norm(pil, ocv, cv::NORM_INF), 0.0);
  EXPECT_THROW(resize_center_crop(img, 224, 0.875, "area", "pillow"), Error);
  EXPECT_THROW(resize_center_crop(img, 224, 0.875, "lanczos", "opencv"), Error);
}

// A resize the image budget cannot hold is refused before any table or row is
// allocated: timm's Resize makes the whole resized image, so a crop_pct of
// 5e-7 (from a checkpoint's metadata) asks for 32 x 32 to become 24 M x 24 M.
// A crop_pct of 0 or NaN is no size at all (not an int overflow). Within the
// budget only the crop's part is computed, tables included.
TEST(EvalTransform, ResizeBeyondTheImageBudgetIsRefused) {
  const cv::Mat img = synthetic_image(32, 32, 3, 2, 5);
  for (const char* resize : {"pillow", "opencv"})
    test::expect_error([&] { resize_center_crop(img, 12, 5e-7, "bicubic", resize); },
                       {"resize of 32x32 to 24000000x24000000 (img_size 12 / crop_pct 5e-07)", "image budget"});
  test::expect_error([&] { resize_center_crop(img, 12, 5e-7, "nearest"); }, {"24000000x24000000"});
  test::expect_error([&] { resize_center_crop(img, 12, 1e-12, "bicubic"); }, {"not a size"});
  test::expect_error([&] { resize_center_crop(img, 12, 0.0, "bicubic"); }, {"not a size"});
  test::expect_error([&] { resize_center_crop(img, 12, std::nan(""), "bicubic"); }, {"not a size"});
  test::expect_error([&] { pillow_resize(img, 1, 1 << 30, PillowFilter::kBilinear); }, {"resize of 32x32 to 1x1073741824"});
  // crop_pct 1/64: 768 x 768, of which the 12 x 12 center.
  const cv::Rect center(378, 378, 12, 12);
  for (const char* interpolation : {"bicubic", "nearest"}) {
    const cv::Mat part = resize_center_crop(img, 12, 1.0 / 64, interpolation);
    const cv::Mat whole = pillow_resize(img, 768, 768, parse_pillow_filter(interpolation));
    EXPECT_EQ(cv::norm(part, whole(center), cv::NORM_INF), 0.0) << interpolation;
  }
}

// The refusal names the image: the loader adds each sample's origin, and
// eval_transform_file (predict) its path.
TEST(EvalTransform, ResizeRefusalNamesTheImage) {
  test::TempDir d;
  test::write_bytes(d / "a.png", encode_image(synthetic_image(32, 32, 3, 2, 5), "png"));
  FileListDataset ds("t", "val", d.str(), {"0"}, {{d / "a.png", 0}});
  TransformConfig t;
  t.img_size = 12;
  t.crop_pct = 5e-7;
  t.in_chans = 3;
  t.mean = {0, 0, 0};
  t.std = {1, 1, 1};
  LoaderOptions o;
  o.batch_size = 1;
  o.workers = 0;
  Loader loader(ds, t, AugmentConfig{}, o);
  loader.start_epoch(0);
  test::expect_error([&] { loader.next(); }, {d / "a.png", "resize of 32x32"});
  std::vector<float> x(3 * 12 * 12);
  test::expect_error([&] { eval_transform_file(d / "a.png", t, x.data()); }, {d / "a.png", "resize of 32x32"});
}

// Images as users feed them, made by Pillow at test time (tests/gen_pillow_decode.py):
// JPEGs of odd sizes and every chroma subsampling, progressive, gray, CMYK and
// with an EXIF orientation (ignored, as Pillow does);
// PNGs in RGB, RGBA, palette (with tRNS), gray, gray+alpha, 1/2/4-bit and 16-bit;
// files Pillow reads where a stricter reader would not: bytes holding FF DA
// after a JPEG's EOI, junk between two JPEG segments, CMYK without the Adobe
// marker, a PNG whose text chunk after IDAT or whose IDAT itself has a bad
// CRC (Pillow checks CRCs only before the first IDAT).
struct DecodeCase {
  std::string name;
  int w, h;
  bool tensors;
};

std::vector<DecodeCase> make_decode_cases(const test::TempDir& d) {
  const std::string gen = std::string("/usr/bin/python3 ") + BITBENCH_SOURCE_DIR + "/tests/gen_pillow_decode.py " + d.str();
  EXPECT_EQ(std::system(gen.c_str()), 0) << "tests/gen_pillow_decode.py failed: are python3-pil and python3-torchvision "
                                            "installed (bash scripts/install-deps.sh --test)?";
  std::vector<DecodeCase> cases;
  std::ifstream in(d / "cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    DecodeCase c;
    int t = 0;
    if (l >> c.name >> c.w >> c.h >> t) {
      c.tensors = t != 0;
      cases.push_back(c);
    }
  }
  return cases;
}

// decode_image_file equals Image.open(f).convert("RGB") byte for byte.
TEST(PillowDecode, EqualsPillowsConvertRgbForEveryFormat) {
  test::TempDir d;
  const auto cases = make_decode_cases(d);
  ASSERT_EQ(cases.size(), 32u);
  for (const DecodeCase& c : cases) {
    SCOPED_TRACE(c.name);
    const cv::Mat got = decode_image_file(d / c.name);
    ASSERT_EQ(got.cols, c.w);
    ASSERT_EQ(got.rows, c.h);
    ASSERT_EQ(got.type(), CV_8UC3);
    ASSERT_TRUE(got.isContinuous());
    const std::string want = test::read_text(d / (c.name + ".rgb"));
    ASSERT_EQ(want.size(), static_cast<size_t>(c.w) * c.h * 3);
    size_t diff = 0;
    int worst = 0;
    for (size_t k = 0; k < want.size(); ++k) {
      const int e = std::abs(int(got.data[k]) - int(static_cast<uint8_t>(want[k])));
      diff += e != 0;
      worst = std::max(worst, e);
    }
    EXPECT_EQ(diff, 0u) << diff << " of " << want.size() << " bytes differ, by up to " << worst;
  }
}

// A PNG whose pixel data libpng refuses mid-image (fuzz_image's first
// finding: the row table leaked when libpng jumped out): one Error naming the
// file; the sanitizer build checks nothing leaks.
TEST(PillowDecode, CorruptPixelDataIsOneErrorNamingTheFile) {
  const std::string f = std::string(BITBENCH_SOURCE_DIR) + "/fuzz/corpus/image/regression_png_error_in_pixel_data";
  test::expect_error([&] { decode_image_file(f); }, {"regression_png_error_in_pixel_data"});
}

// Where Pillow refuses, bitbench refuses: a PNG whose tEXt, zTXt or iTXt
// chunk before IDAT has a bad CRC (Pillow checks every chunk's CRC up to the
// first IDAT). The generator keeps only the files Pillow itself refused.
TEST(PillowDecode, RefusesWhatPillowRefuses) {
  test::TempDir d;
  make_decode_cases(d);
  std::ifstream in(d / "refused.txt");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  ASSERT_EQ(names.size(), 3u) << "Pillow no longer refuses every bad-CRC text chunk";
  for (const std::string& n : names) {
    SCOPED_TRACE(n);
    test::expect_error([&] { decode_image_file(d / n); }, {n, "CRC error"});
  }
}

// decode + eval_transform with timm's settings equals torchvision's
// Resize/CenterCrop/ToTensor/Normalize on the Pillow image within 1e-6.
TEST(EvalTransform, EqualsTorchvisionWithTimmSettings) {
  test::TempDir d;
  const auto cases = make_decode_cases(d);
  struct Setting {
    const char* key;
    double crop_pct;
    std::vector<double> mean, std;
  };
  const Setting settings[] = {{"deit", 0.875, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}},
                              {"augreg", 0.9, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}}};
  int checked = 0;
  for (const DecodeCase& c : cases) {
    if (!c.tensors) continue;
    const cv::Mat img = decode_image_file(d / c.name);
    for (const Setting& s : settings) {
      SCOPED_TRACE(c.name + " " + s.key);
      TransformConfig t;
      t.img_size = 224;
      t.crop_pct = s.crop_pct;
      t.interpolation = "bicubic";
      t.in_chans = 3;
      t.mean = s.mean;
      t.std = s.std;
      std::vector<float> got(3 * 224 * 224);
      eval_transform(img, t, got.data());
      const std::string want = test::read_text(d / (c.name + "." + s.key + ".f32"));
      ASSERT_EQ(want.size(), got.size() * 4);
      const float* w = reinterpret_cast<const float*>(want.data());
      float worst = 0;
      for (size_t k = 0; k < got.size(); ++k) worst = std::max(worst, std::fabs(got[k] - w[k]));
      EXPECT_LE(worst, 1e-6f);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2 * 15);
}

}  // namespace
}  // namespace bb
