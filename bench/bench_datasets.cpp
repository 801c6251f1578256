// Loader throughput in images/s:
//  - Fashion-MNIST training batches (Debian's files, train transform: pad-crop + flip),
//  - decode + resize + center crop of 500x375 JPEGs to 224 (ImageNet eval transform),
// each with 1 and 2 worker threads.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "datasets/image_folder.hpp"
#include "datasets/loader.hpp"

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

void BM_JpegEval224(benchmark::State& state) {
  static const std::string root = [] {
    std::string dir = (std::filesystem::temp_directory_path() / "bitbench_bench_jpeg").string();
    if (!std::filesystem::exists(dir + "/c3/img_15.jpg"))
      write_image_folder_fixture(dir, {"c0", "c1", "c2", "c3"}, 16, 500, 375, "jpg");
    return dir;
  }();
  static auto ds = load_image_folder(root);
  DataConfig c;
  c.dataset.name = "imagenet";
  resolve(c);  // 224, crop_pct 0.875, bilinear, ImageNet mean/std
  LoaderOptions o;
  o.batch_size = 16;
  o.workers = static_cast<int>(state.range(0));
  drain_epochs(state, *ds, c, o);
}
BENCHMARK(BM_JpegEval224)->ArgName("workers")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
