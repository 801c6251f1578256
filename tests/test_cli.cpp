// The bitbench executable end to end: exit codes, one-line errors naming the
// file, and no output left behind when the input is bad.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/fixtures.hpp"
#include "datasets/idx.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

using test::run_bitbench;

TEST(Cli, VersionAndHelp) {
  auto v = run_bitbench("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("bitbench 0."), std::string::npos) << v.out;
  auto h = run_bitbench("data inspect --help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--grid"), std::string::npos);
  auto bad = run_bitbench("data inspect --no-such-flag");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(test::count_lines(bad.err), 1) << bad.err;
  EXPECT_EQ(run_bitbench("").exit_code, 2);
}

#if !BITBENCH_TEST_HAS_MPI
// Started by mpirun (which sets OMPI_COMM_WORLD_SIZE in every process) a build
// without MPI would run N independent copies racing for the output: it refuses.
TEST(Cli, BuildWithoutMpiRefusesToRunUnderMpirun) {
  auto r = run_bitbench("data inspect --json", "BITBENCH_PROGRESS=off OMPI_COMM_WORLD_SIZE=2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("this build has no MPI (configure with -DBITBENCH_MPI=ON)"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(run_bitbench("--version", "BITBENCH_PROGRESS=off OMPI_COMM_WORLD_SIZE=1").exit_code, 0);
}
#endif

TEST(Cli, InspectFixtureWritesGridAndJson) {
  test::TempDir d;
  write_mnist_fixture(d / "data", 20, 30, true);
  auto r = run_bitbench("data inspect --dataset mnist --data-dir " + (d / "data") + " --grid " + (d / "grid.png"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("images       30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("28 x 28 x 1"), std::string::npos) << r.out;
  auto png = test::read_bytes(d / "grid.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png[1], 'P');
  auto j = run_bitbench("data inspect --json --split train --dataset mnist --data-dir " + (d / "data"));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["count"], 20);
  EXPECT_EQ(parsed["classes"][3]["count"], 2);
  EXPECT_EQ(parsed["split"], "train");
  auto one = run_bitbench("--threads 1 data inspect --json --dataset mnist --data-dir " + (d / "data"));
  EXPECT_EQ(nlohmann::json::parse(one.out)["threads"], 1);
}

TEST(Cli, InspectImagenetAndCifarFixtures) {
  test::TempDir d;
  write_imagenet_val_fixture(d / "in/val", 6, 3, "kaggle");
  auto r = run_bitbench("data inspect --json --dataset imagenet --data-dir " + (d / "in"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["count"], 6);
  write_cifar100_fixture(d / "c100", 10, 5);
  auto c = run_bitbench("data inspect --json --dataset cifar100 --split train --data-dir " + (d / "c100"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto j = nlohmann::json::parse(c.out);
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["pixel_mean"].size(), 3u);
}

TEST(Cli, EmbeddedDefaultIsDebiansFashionMnist) {
  auto r = run_bitbench("data inspect --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dataset"], "fashion-mnist");
  EXPECT_EQ(j["count"], 10000);
  EXPECT_EQ(j["classes"][0]["name"], "T-shirt/top");
  EXPECT_NEAR(j["pixel_mean"][0].get<double>(), 0.2868, 5e-4);
}

// Each bad input: exit 2, one stderr line naming the file and the problem, and
// the requested grid not written (nor any temporary file).
struct BadCase {
  std::string name;
  std::function<std::string(const test::TempDir&)> make;  // returns the inspect arguments
  std::vector<std::string> expect;                        // fragments of the error line
};

class CliBadInput : public ::testing::TestWithParam<int> {};

std::vector<BadCase> bad_cases() {
  auto mnist = [](const test::TempDir& d, bool gz) {
    write_mnist_fixture(d / "m", 10, 10, gz);
    return "--dataset mnist --data-dir " + (d / "m");
  };
  return {
      {"missing directory", [](const test::TempDir& d) { return "--dataset cifar10 --data-dir " + (d / "nowhere"); },
       {"nowhere", "no such directory"}},
      {"idx wrong magic",
       [&](const test::TempDir& d) {
         auto a = mnist(d, false);
         auto b = test::read_bytes(d / "m/t10k-images-idx3-ubyte");
         b[1] = 7;
         test::write_bytes(d / "m/t10k-images-idx3-ubyte", b);
         return a;
       },
       {"t10k-images-idx3-ubyte", "wrong magic"}},
      {"idx truncated",
       [&](const test::TempDir& d) {
         auto a = mnist(d, false);
         auto b = test::read_bytes(d / "m/t10k-images-idx3-ubyte");
         b.resize(b.size() - 1);
         test::write_bytes(d / "m/t10k-images-idx3-ubyte", b);
         return a;
       },
       {"t10k-images-idx3-ubyte", "truncated IDX data"}},
      {"idx count mismatch",
       [&](const test::TempDir& d) {
         auto a = mnist(d, false);
         write_idx(d / "m/t10k-labels-idx1-ubyte", {3}, {1, 2, 3}, false);
         return a;
       },
       {"t10k-labels-idx1-ubyte", "holds 3 labels"}},
      {"corrupt gz",
       [&](const test::TempDir& d) {
         auto a = mnist(d, true);
         auto b = test::read_bytes(d / "m/t10k-images-idx3-ubyte.gz");
         b.resize(b.size() / 2);
         test::write_bytes(d / "m/t10k-images-idx3-ubyte.gz", b);
         return a;
       },
       {"t10k-images-idx3-ubyte.gz", "gzip"}},
      {"cifar size",
       [](const test::TempDir& d) {
         write_cifar10_fixture(d / "c", 1, 2);
         auto b = test::read_bytes(d / "c/test_batch.bin");
         b.push_back(0);
         test::write_bytes(d / "c/test_batch.bin", b);
         return "--dataset cifar10 --data-dir " + (d / "c");
       },
       {"test_batch.bin", "not a multiple"}},
      {"cifar label",
       [](const test::TempDir& d) {
         write_cifar10_fixture(d / "c", 1, 2);
         auto b = test::read_bytes(d / "c/test_batch.bin");
         b[0] = 200;
         test::write_bytes(d / "c/test_batch.bin", b);
         return "--dataset cifar10 --data-dir " + (d / "c");
       },
       {"test_batch.bin", "label byte 200 out of range"}},
      {"imagefolder empty class",
       [](const test::TempDir& d) {
         write_image_folder_fixture(d / "f", {"a"}, 2, 10, 10, "png");
         std::filesystem::create_directories(d / "f/b");
         return "--dataset imagefolder --data-dir " + (d / "f");
       },
       {"f/b", "no images"}},
      {"imagefolder non-image file posing as jpg",
       [](const test::TempDir& d) {
         write_image_folder_fixture(d / "f", {"a", "b"}, 2, 10, 10, "jpg");
         test::write_text(d / "f/b/notes.jpg", "plain text");
         return "--dataset imagefolder --data-dir " + (d / "f");
       },
       {"notes.jpg", "not a JPEG or PNG"}},
      {"imagefolder corrupt jpeg",
       [](const test::TempDir& d) {
         write_image_folder_fixture(d / "f", {"a", "b"}, 2, 40, 40, "jpg");
         auto b = test::read_bytes(d / "f/a/img_1.jpg");
         b.resize(b.size() * 2 / 3);
         test::write_bytes(d / "f/a/img_1.jpg", b);
         return "--dataset imagefolder --data-dir " + (d / "f");
       },
       {"a/img_1.jpg", "truncated JPEG"}},
      {"label file names a missing image",
       [](const test::TempDir& d) {
         write_imagenet_val_fixture(d / "v", 3, 2, "val_map");
         std::filesystem::remove(d / "v/ILSVRC2012_val_00000002.JPEG");
         return "--dataset imagenet --data-dir " + (d / "v");
       },
       {"val_map.txt", "ILSVRC2012_val_00000002.JPEG", "missing"}},
      {"config unknown key",
       [](const test::TempDir& d) {
         test::write_text(d / "c.json", R"({"dataset": {"name": "mnist", "colour": true}})");
         return "--config " + (d / "c.json");
       },
       {"c.json", "/dataset/colour: unknown key"}},
      {"config wrong type",
       [](const test::TempDir& d) {
         test::write_text(d / "c.json", R"({"transform": {"crop_pct": "big"}})");
         return "--config " + (d / "c.json");
       },
       {"c.json: /transform/crop_pct: expected number in [0.01, 1], got \"big\""}},
  };
}

TEST_P(CliBadInput, OneLineExitTwoNoOutput) {
  BadCase c = bad_cases()[static_cast<size_t>(GetParam())];
  SCOPED_TRACE(c.name);
  test::TempDir d;
  std::string args = c.make(d);
  std::filesystem::create_directories(d / "out");
  // Plain progress (as in logs): an abandoned scan must not add a line to the error.
  auto r = run_bitbench("data inspect " + args + " --grid " + (d / "out/grid.png"), "BITBENCH_PROGRESS=plain");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("bitbench: ", 0), 0u) << r.err;
  for (const auto& f : c.expect) EXPECT_NE(r.err.find(f), std::string::npos) << "missing \"" << f << "\" in: " << r.err;
  EXPECT_TRUE(test::list_files(d / "out").empty()) << "output left behind";
}

INSTANTIATE_TEST_SUITE_P(AllCases, CliBadInput, ::testing::Range(0, 13));

TEST(Cli, ConfigShowAndCheck) {
  test::TempDir d;
  auto show = run_bitbench("config show");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j["dataset"]["name"], "fashion-mnist");
  EXPECT_EQ(j["transform"]["img_size"], 28);
  test::write_text(d / "ok.json", R"({"dataset": {"name": "cifar10", "data_dir": "/x"}})");
  auto ok = run_bitbench("config check " + (d / "ok.json"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto resolved = run_bitbench("config show " + (d / "ok.json"));
  EXPECT_EQ(nlohmann::json::parse(resolved.out)["transform"]["mean"].size(), 3u);
  test::write_text(d / "bad.json", R"({"loader": {"batch_size": 0}})");
  auto bad = run_bitbench("config check " + (d / "bad.json"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("/loader/batch_size"), std::string::npos) << bad.err;
  auto missing = run_bitbench("config check " + (d / "none.json"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("none.json"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace bb
