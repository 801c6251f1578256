#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <sstream>
#include <thread>

#include "core/dir_lock.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/sha256.hpp"
#include "core/utf8.hpp"
#include "core/tensor.hpp"
#include "core/threads.hpp"
#include "test_util.hpp"

namespace bb {
namespace {

TEST(Tensor, AlignedZeroedAndShaped) {
  Tensor t(Shape{3, 5, 7});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(t.numel(), 105);
  EXPECT_EQ(t.shape().str(), "[3, 5, 7]");
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t[i], 0.0f);
}

TEST(Tensor, SliceAndReshapeShareMemory) {
  Tensor t(Shape{4, 2, 3});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i);
  TensorView s = t.slice(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s.data(), t.data() + 6);
  EXPECT_EQ(s[0], 6.0f);
  s[0] = -1;
  EXPECT_EQ(t[6], -1.0f);
  TensorView r = t.view().reshape(Shape{8, 3});
  EXPECT_EQ(r.data(), t.data());
  EXPECT_THROW(t.view().reshape(Shape{5, 5}), std::invalid_argument);
  EXPECT_THROW(t.slice(3, 5), std::out_of_range);
}

TEST(Tensor, ResizeKeepsBufferWhenItFits) {
  Tensor t(Shape{10, 10});
  float* p = t.data();
  t.resize(Shape{5, 10});
  EXPECT_EQ(t.data(), p);
  EXPECT_EQ(t.numel(), 50);
  t.resize(Shape{20, 10});
  EXPECT_EQ(t.numel(), 200);
  Tensor c = t.clone();
  EXPECT_NE(c.data(), t.data());
  EXPECT_EQ(c.shape(), t.shape());
}

TEST(Error, FormatsFilePathAndOffset) {
  EXPECT_STREQ(Error::config("c.json", "/dataset/crop_pct", "bad").what(), "c.json: /dataset/crop_pct: bad");
  EXPECT_STREQ(Error::input_at("f.idx", 12, "truncated").what(), "f.idx: offset 12: truncated");
  EXPECT_EQ(Error::input("f", "x").exit_code(), 2);
  EXPECT_EQ(Error::usage("x").exit_code(), 2);
  EXPECT_EQ(Error::runtime("f", "x").exit_code(), 1);
}

TEST(Rng, DeterministicAndStreamsDiffer) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
  }
  std::set<uint64_t> seeds;
  for (uint64_t e = 0; e < 50; ++e)
    for (uint64_t i = 0; i < 50; ++i) seeds.insert(derive_seed(7, Stream::kAugment, e, i));
  EXPECT_EQ(seeds.size(), 2500u);
  EXPECT_NE(derive_seed(7, Stream::kAugment, 1, 2), derive_seed(7, Stream::kShuffle, 1, 2));
  EXPECT_NE(derive_seed(7, Stream::kAugment, 1, 2), derive_seed(7, Stream::kAugment, 2, 1));
}

TEST(Rng, UniformAndBelowAreInRangeAndUnbiased) {
  Rng r(1);
  std::vector<int> hist(7, 0);
  double sum = 0;
  for (int i = 0; i < 70000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    uint64_t k = r.below(7);
    ASSERT_LT(k, 7u);
    hist[k]++;
  }
  EXPECT_NEAR(sum / 70000, 0.5, 0.01);
  for (int h : hist) EXPECT_NEAR(h, 10000, 400);
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[static_cast<size_t>(i)] = i;
  r.shuffle(v);
  std::set<int> s(v.begin(), v.end());
  EXPECT_EQ(s.size(), 100u);
}

TEST(Threads, SetAndParallelForCoversAll) {
  EXPECT_EQ(set_num_threads(1), 1);
  EXPECT_EQ(num_threads(), 1);
  EXPECT_GE(set_num_threads(0), 1);
  std::vector<int> hits(1000, 0);
  parallel_for(1000, 3, [&](int64_t i, int) { hits[static_cast<size_t>(i)]++; });
  for (int h : hits) EXPECT_EQ(h, 1);
  EXPECT_THROW(parallel_for(100, 2, [](int64_t i, int) {
                 if (i == 77) throw Error::input("x", "boom");
               }),
               Error);
}

TEST(Progress, FormatsRateAndEta) {
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  std::string s = format_progress(250, 1000, 5.0, "img");
  EXPECT_NE(s.find("25.0%"), std::string::npos) << s;
  EXPECT_NE(s.find("250/1000 img"), std::string::npos) << s;
  EXPECT_NE(s.find("50.0 img/s"), std::string::npos) << s;
  EXPECT_NE(s.find("ETA 0:15"), std::string::npos) << s;
}

TEST(Progress, TtyRedrawsInPlacePlainPrintsLines) {
  std::ostringstream tty, plain;
  {
    Progress p("work", 100, "it", tty, ProgressMode::Tty, 5.0);
    for (int i = 0; i < 100; ++i) p.advance();
  }
  EXPECT_NE(tty.str().find('\r'), std::string::npos);
  EXPECT_EQ(test::count_lines(tty.str()), 1);  // only the final newline
  {
    Progress p("work", 3, "it", plain, ProgressMode::Plain, 0.0);
    for (int i = 0; i < 3; ++i) p.advance();
  }
  EXPECT_EQ(plain.str().find('\r'), std::string::npos);
  EXPECT_EQ(test::count_lines(plain.str()), 4);  // every advance (interval 0) + final
  std::ostringstream quiet;
  {
    Progress p("work", 3, "it", quiet, ProgressMode::Plain, 1000.0);
    for (int i = 0; i < 3; ++i) p.advance();
  }
  EXPECT_EQ(test::count_lines(quiet.str()), 1);  // interval not reached: final line only
}

TEST(Progress, AbandonedByAnExceptionPrintsNothingMore) {
  std::ostringstream plain, tty;
  try {
    Progress p("work", 10, "it", plain, ProgressMode::Plain, 1000.0);
    Progress q("work", 10, "it", tty, ProgressMode::Tty, 1000.0);
    p.advance();
    q.advance();
    throw std::runtime_error("bad image");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(plain.str(), "");
  EXPECT_EQ(test::count_lines(tty.str()), 0);
  EXPECT_NE(tty.str().find("\x1b[K"), std::string::npos);  // the line is cleared
}

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemp) {
  test::TempDir d;
  std::string p = d / "out.txt";
  write_file_atomic(p, std::string("first"));
  write_file_atomic(p, std::string("second"));
  EXPECT_EQ(read_file_text(p), "second");
  EXPECT_EQ(test::list_files(d.str()).size(), 1u);
}

TEST(FileIo, WriteFailureKeepsPreviousAndNamesPath) {
  test::TempDir d;
  std::string missing_dir = d / "nope/out.txt";
  test::expect_error([&] { write_file_atomic(missing_dir, std::string("x")); }, {"nope/out.txt"}, ErrorKind::Runtime);
  test::expect_error([&] { read_file_bytes(d / "absent.bin"); }, {"absent.bin", "cannot open"});
  test::expect_error([&] { read_file_bytes(d.str()); }, {"is a directory"});
}


// A folder's lock excludes a second holder (flock: per open file, so even in
// one process) and is free again once the first is gone.
TEST(DirLock, SecondHolderIsRefusedUntilTheFirstEnds) {
  test::TempDir d;
  {
    DirLock first(d.str());
    try {
      DirLock second(d.str());
      ADD_FAILURE() << "second lock taken";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find("in use by another bitbench process"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(DirLock again(d.str()));
}

TEST(Sha256, FipsVectorsAndChunking) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first block's padding.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a', fed in uneven pieces: the same digest as in one call.
  const std::string million(1000000, 'a');
  Sha256 h;
  for (size_t at = 0, step = 1; at < million.size(); at += step, step = step * 3 % 1000 + 1)
    h.update(million.data() + at, std::min(step, million.size() - at));
  EXPECT_EQ(h.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Utf8, WellFormedOnly) {
  EXPECT_TRUE(is_valid_utf8("Ankle boot"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("Ankle\xe9"));         // Latin-1
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // cut short
  EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac!", 0), 3u);
}

}  // namespace
}  // namespace bb
