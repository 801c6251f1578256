// Loader throughput in images/s:
//  - Fashion-MNIST training batches (Debian's files, train transform: pad-crop + flip),
//  - decode + resize + center crop of 500x375 JPEGs to 224 (timm's DeiT eval
//    transform: Resize(256, bicubic), CenterCrop(224), normalise), through the
//    Pillow-exact path (resize:0, the default) and OpenCV's cv::resize
//    (resize:1), each with 1 and 2 worker threads;
//  - the decode step alone: Pillow-exact libjpeg;
//  - the resize + crop step alone: Pillow-exact (resize:0) against cv::resize (resize:1);
//  - one image's read + decode + resize + crop + normalise, without the loader.
#include <benchmark/benchmark.h>


#include <filesystem>

#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "core/file_io.hpp"
#include "datasets/image_decode.hpp"
#include "datasets/image_folder.hpp"
#include "datasets/loader.hpp"
#include "datasets/transforms.hpp"

namespace {

using namespace bb;

void drain_epochs(benchmark::State& state, const Dataset& ds, const DataConfig& c, LoaderOptions o) {
  Loader loader(ds, c.transform, c.augment, o);
  int epoch = 0;
  int64_t images = 0;
  for (auto _ : state) {
    loader.start_epoch(epoch++);
    while (const Batch* b = loader.next()) {
      benchmark::DoNotOptimize(b->images.data());
      images += b->size();
    }
  }
  state.SetItemsProcessed(images);
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
}

void BM_FashionMnistTrainBatches(benchmark::State& state) {
  static auto ds = open_dataset(DatasetConfig{}, "train");
  DataConfig c;
  resolve(c);
  LoaderOptions o;
  o.batch_size = 128;
  o.workers = static_cast<int>(state.range(0));
  o.train = true;
  o.shuffle = true;
  o.limit = 12800;
  drain_epochs(state, *ds, c, o);
}
BENCHMARK(BM_FashionMnistTrainBatches)->ArgName("workers")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

const std::string& jpeg_root() {
  static const std::string root = [] {
    std::string dir = (std::filesystem::temp_directory_path() / "bitbench_bench_jpeg").string();
    if (!std::filesystem::exists(dir + "/c3/img_15.jpg"))
      write_image_folder_fixture(dir, {"c0", "c1", "c2", "c3"}, 16, 500, 375, "jpg");
    return dir;
  }();
  return root;
}

void BM_JpegEval224(benchmark::State& state) {
  static auto ds = load_image_folder(jpeg_root());
  DataConfig c;
  c.dataset.name = "imagenet";
  c.transform.interpolation = "bicubic";
  c.transform.resize = state.range(1) == 0 ? "pillow" : "opencv";
  resolve(c);  // 224, crop_pct 0.875, ImageNet mean/std
  state.SetLabel(c.transform.resize);
  LoaderOptions o;
  o.batch_size = 16;
  o.workers = static_cast<int>(state.range(0));
  drain_epochs(state, *ds, c, o);
}
BENCHMARK(BM_JpegEval224)
    ->ArgNames({"workers", "resize"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_JpegDecode(benchmark::State& state) {
  static const std::vector<uint8_t> bytes = read_file_bytes(jpeg_root() + "/c0/img_0.jpg", 1 << 24);
  state.SetLabel("pillow-exact libjpeg");
  for (auto _ : state) {
    cv::Mat m = decode_image_bytes(bytes, "img_0.jpg");
    benchmark::DoNotOptimize(m.data);
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_JpegDecode)->Unit(benchmark::kMicrosecond);

// The resize step alone: a decoded 500x375 photo to 341x256 (timm's Resize(256)), bicubic.
void BM_Resize500x375(benchmark::State& state) {
  static const cv::Mat img = decode_image_file(jpeg_root() + "/c0/img_0.jpg");
  const bool pillow = state.range(0) == 0;
  state.SetLabel(pillow ? "pillow-exact" : "cv::resize");
  for (auto _ : state) {
    cv::Mat m = resize_center_crop(img, 224, 0.875, "bicubic", pillow ? "pillow" : "opencv");
    benchmark::DoNotOptimize(m.data);
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Resize500x375)->ArgName("resize")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// One image's whole eval work without the loader's threads: read the file,
// decode, resize + crop, normalise to CHW floats.
void BM_OneImageEval224(benchmark::State& state) {
  const std::string path = jpeg_root() + "/c0/img_0.jpg";
  TransformConfig t;
  t.img_size = 224;
  t.crop_pct = 0.875;
  t.interpolation = "bicubic";
  t.resize = state.range(0) == 0 ? "pillow" : "opencv";
  t.in_chans = 3;
  t.mean = {0.485, 0.456, 0.406};
  t.std = {0.229, 0.224, 0.225};
  state.SetLabel(t.resize);
  std::vector<float> out(3 * 224 * 224);
  for (auto _ : state) {
    eval_transform(decode_image_file(path), t, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OneImageEval224)->ArgName("resize")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
