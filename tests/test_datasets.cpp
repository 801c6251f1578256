#include <gtest/gtest.h>

#include <filesystem>

#include "datasets/cifar.hpp"
#include "datasets/class_map.hpp"
#include "datasets/dataset_config.hpp"
#include "datasets/fixtures.hpp"
#include "datasets/gz.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_decode.hpp"
#include "datasets/image_folder.hpp"
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
