#include <gtest/gtest.h>

#include <set>

#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_folder.hpp"
#include "datasets/loader.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_mnist_fixture(dir_.str(), 37, 10, false);
    ds_ = load_mnist_style("mnist", dir_.str(), "train", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
    DataConfig c;
    c.dataset.name = "mnist";
    resolve(c);
    t_ = c.transform;
    a_ = c.augment;
  }
  // All batches of one epoch, flattened.
  std::pair<std::vector<float>, std::vector<int64_t>> epoch(Loader& l, int e) {
    l.start_epoch(e);
    std::vector<float> px;
    std::vector<int64_t> idx;
    while (const Batch* b = l.next()) {
      px.insert(px.end(), b->images.data(), b->images.data() + b->images.numel());
      idx.insert(idx.end(), b->indices.begin(), b->indices.end());
    }
    return {px, idx};
  }
  test::TempDir dir_;
  std::unique_ptr<Dataset> ds_;
  TransformConfig t_;
  AugmentConfig a_;
};

TEST_F(LoaderTest, CoversEverySampleOnceWithPartialLastBatch) {
  LoaderOptions o;
  o.batch_size = 8;
  o.workers = 2;
  o.shuffle = true;
  Loader l(*ds_, t_, a_, o);
  EXPECT_EQ(l.num_batches(), 5);
  l.start_epoch(0);
  std::multiset<int64_t> seen;
  int batches = 0;
  while (const Batch* b = l.next()) {
    EXPECT_EQ(b->images.dim(1), 1);
    EXPECT_EQ(b->images.dim(2), 28);
    EXPECT_EQ(b->size(), batches < 4 ? 8 : 5);
    EXPECT_EQ(b->images.dim(0), b->size());
    for (int k = 0; k < b->size(); ++k) EXPECT_EQ(b->labels[static_cast<size_t>(k)], ds_->label(static_cast<size_t>(b->indices[static_cast<size_t>(k)])));
    seen.insert(b->indices.begin(), b->indices.end());
    ++batches;
  }
  EXPECT_EQ(batches, 5);
  EXPECT_EQ(seen.size(), 37u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 37u);
  EXPECT_EQ(l.next(), nullptr);

  o.drop_last = true;
  Loader d(*ds_, t_, a_, o);
  EXPECT_EQ(d.num_batches(), 4);
}

TEST_F(LoaderTest, ShuffleIsSeededPerEpoch) {
  LoaderOptions o;
  o.batch_size = 10;
  o.shuffle = true;
  o.seed = 3;
  Loader a(*ds_, t_, a_, o), b(*ds_, t_, a_, o);
  auto a0 = epoch(a, 0).second, b0 = epoch(b, 0).second, a1 = epoch(a, 1).second;
  EXPECT_EQ(a0, b0);
  EXPECT_NE(a0, a1);
  o.shuffle = false;
  Loader plain(*ds_, t_, a_, o);
  auto p = epoch(plain, 0).second;
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<int64_t>(i));
}

TEST_F(LoaderTest, BatchesAreBitIdenticalForAnyWorkerCount) {
  LoaderOptions o;
  o.batch_size = 6;
  o.train = true;
  o.shuffle = true;
  o.seed = 11;
  std::vector<float> ref;
  for (int w : {0, 1, 3}) {
    o.workers = w;
    Loader l(*ds_, t_, a_, o);
    auto px = epoch(l, 2).first;
    if (ref.empty()) ref = px;
    EXPECT_EQ(px, ref) << "workers=" << w;
  }
  // Augmentation differs between epochs.
  Loader l(*ds_, t_, a_, o);
  EXPECT_NE(epoch(l, 3).first, ref);
}

TEST_F(LoaderTest, LimitKeepsAFixedSeededSubset) {
  LoaderOptions o;
  o.batch_size = 4;
  o.limit = 9;
  o.seed = 1;
  o.shuffle = true;
  Loader l(*ds_, t_, a_, o);
  EXPECT_EQ(l.num_samples(), 9);
  auto s = l.subset();
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  auto e0 = epoch(l, 0).second, e1 = epoch(l, 1).second;
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()), std::set<int64_t>(s.begin(), s.end()));
  EXPECT_EQ(std::set<int64_t>(e1.begin(), e1.end()), std::set<int64_t>(s.begin(), s.end()));
  o.seed = 2;
  Loader other(*ds_, t_, a_, o);
  EXPECT_NE(other.subset(), s);
}

TEST_F(LoaderTest, AbandonedEpochCanRestart) {
  LoaderOptions o;
  o.batch_size = 3;
  o.workers = 2;
  o.prefetch = 1;
  Loader l(*ds_, t_, a_, o);
  l.start_epoch(0);
  ASSERT_NE(l.next(), nullptr);
  auto full = epoch(l, 1).second;
  EXPECT_EQ(full.size(), 37u);
}

TEST_F(LoaderTest, StartingMidEpochSkipsExactlyTheFirstBatches) {
  LoaderOptions o;
  o.batch_size = 5;
  o.workers = 2;
  o.shuffle = true;
  o.train = true;
  o.seed = 4;
  Loader l(*ds_, t_, a_, o);
  auto full = epoch(l, 3);
  l.start_epoch(3, 2);
  std::vector<float> px;
  std::vector<int64_t> idx;
  int64_t first = -1;
  while (const Batch* b = l.next()) {
    if (first < 0) first = b->index;
    px.insert(px.end(), b->images.data(), b->images.data() + b->images.numel());
    idx.insert(idx.end(), b->indices.begin(), b->indices.end());
  }
  EXPECT_EQ(first, 2);
  EXPECT_EQ(idx, std::vector<int64_t>(full.second.begin() + 10, full.second.end()));
  EXPECT_EQ(px, std::vector<float>(full.first.begin() + 10 * 784, full.first.end()));
}

TEST(Loader, WorkerErrorsReachTheConsumerWithTheFileName) {
  test::TempDir d;
  write_image_folder_fixture(d.str(), {"a", "b"}, 4, 20, 20, "png");
  test::write_text(d / "b/img_2.png", "garbage");
  auto ds = load_image_folder(d.str());
  DataConfig c;
  c.dataset.name = "imagefolder";
  c.transform.img_size = 16;
  resolve(c);
  for (int w : {0, 2}) {
    LoaderOptions o;
    o.batch_size = 2;
    o.workers = w;
    Loader l(*ds, c.transform, c.augment, o);
    l.start_epoch(0);
    test::expect_error([&] {
      while (l.next()) {
      }
    }, {"b/img_2.png", "not a JPEG or PNG"});
  }
}

}  // namespace
}  // namespace bb
