#include "datasets/stats.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <mutex>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/threads.hpp"
#include "datasets/image_encode.hpp"

namespace bb {
namespace {
struct Acc {
  std::vector<int64_t> per_class;
  double sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
  int64_t pixels = 0;
  int min_h = INT_MAX, max_h = 0, min_w = INT_MAX, max_w = 0, channels = 0;
};
}  // namespace

DatasetStats compute_stats(const Dataset& ds, const std::vector<int64_t>& indices_in, int workers, bool progress) {
  std::vector<int64_t> indices = indices_in;
  if (indices.empty()) {
    indices.resize(ds.size());
    for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int64_t>(i);
  }
  workers = std::max(1, workers);
  std::vector<Acc> acc(static_cast<size_t>(workers));
  for (auto& a : acc) a.per_class.assign(static_cast<size_t>(ds.num_classes()), 0);
  std::unique_ptr<Progress> live;
  if (progress) live = std::make_unique<Progress>("scanning " + ds.name() + "/" + ds.split(),
                                                  static_cast<int64_t>(indices.size()), "img");
  std::mutex mu;
  parallel_for(static_cast<int64_t>(indices.size()), workers, [&](int64_t k, int w) {
    size_t i = static_cast<size_t>(indices[static_cast<size_t>(k)]);
    cv::Mat img = ds.image(i);
    Acc& a = acc[static_cast<size_t>(w)];
    a.per_class[static_cast<size_t>(ds.label(i))]++;
    a.min_h = std::min(a.min_h, img.rows);
    a.max_h = std::max(a.max_h, img.rows);
    a.min_w = std::min(a.min_w, img.cols);
    a.max_w = std::max(a.max_w, img.cols);
    int ch = img.channels();
    a.channels = std::max(a.channels, ch);
    for (int y = 0; y < img.rows; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(y);
      int64_t s[3] = {0, 0, 0}, q[3] = {0, 0, 0};
      for (int x = 0; x < img.cols; ++x)
        for (int c = 0; c < ch; ++c) {
          int v = row[x * ch + c];
          s[c] += v;
          q[c] += v * v;
        }
      for (int c = 0; c < ch; ++c) {
        a.sum[c] += static_cast<double>(s[c]);
        a.sq[c] += static_cast<double>(q[c]);
      }
    }
    a.pixels += static_cast<int64_t>(img.rows) * img.cols;
    if (live) {
      std::lock_guard<std::mutex> lock(mu);
      live->advance();
    }
  });
  if (live) live->finish();
  DatasetStats st;
  st.count = static_cast<int64_t>(indices.size());
  st.per_class.assign(static_cast<size_t>(ds.num_classes()), 0);
  Acc total;
  for (const auto& a : acc) {
    for (size_t c = 0; c < st.per_class.size(); ++c) st.per_class[c] += a.per_class[c];
    for (int c = 0; c < 3; ++c) {
      total.sum[c] += a.sum[c];
      total.sq[c] += a.sq[c];
    }
    total.pixels += a.pixels;
    total.min_h = std::min(total.min_h, a.min_h);
    total.max_h = std::max(total.max_h, a.max_h);
    total.min_w = std::min(total.min_w, a.min_w);
    total.max_w = std::max(total.max_w, a.max_w);
    total.channels = std::max(total.channels, a.channels);
  }
  st.channels = total.channels;
  st.min_height = total.min_h == INT_MAX ? 0 : total.min_h;
  st.max_height = total.max_h;
  st.min_width = total.min_w == INT_MAX ? 0 : total.min_w;
  st.max_width = total.max_w;
  for (int c = 0; c < st.channels; ++c) {
    double n = static_cast<double>(total.pixels) * 255.0;
    double mean = total.sum[c] / n;
    double var = total.sq[c] / (n * 255.0) - mean * mean;
    st.mean.push_back(mean);
    st.std.push_back(std::sqrt(std::max(0.0, var)));
  }
  return st;
}

std::vector<uint8_t> contact_sheet_png(const Dataset& ds, const std::vector<int64_t>& indices_in, int per_class,
                                       int max_classes, int tile) {
  int rows = std::min(ds.num_classes(), max_classes);
  std::vector<std::vector<int64_t>> picks(static_cast<size_t>(rows));
  auto consider = [&](int64_t i) {
    int l = ds.label(static_cast<size_t>(i));
    if (l < rows && static_cast<int>(picks[static_cast<size_t>(l)].size()) < per_class)
      picks[static_cast<size_t>(l)].push_back(i);
  };
  if (indices_in.empty())
    for (size_t i = 0; i < ds.size(); ++i) consider(static_cast<int64_t>(i));
  else
    for (int64_t i : indices_in) consider(i);

  const int label_w = 150, gap = 2;
  cv::Mat sheet(rows * (tile + gap) + gap, label_w + per_class * (tile + gap) + gap, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int r = 0; r < rows; ++r) {
    int y0 = gap + r * (tile + gap);
    std::string name = ds.class_names()[static_cast<size_t>(r)];
    if (name.size() > 18) name = name.substr(0, 17) + "~";
    cv::putText(sheet, name, cv::Point(4, y0 + tile / 2 + 5), cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
    for (size_t k = 0; k < picks[static_cast<size_t>(r)].size(); ++k) {
      cv::Mat img = ds.image(static_cast<size_t>(picks[static_cast<size_t>(r)][k]));
      cv::Mat rgb;
      if (img.channels() == 1) cv::cvtColor(img, rgb, cv::COLOR_GRAY2RGB);
      else rgb = img;
      // Fit inside the tile keeping the aspect ratio; small images scale up crisply.
      double s = static_cast<double>(tile) / std::max(rgb.rows, rgb.cols);
      cv::Mat fit;
      cv::resize(rgb, fit, cv::Size(std::max(1, static_cast<int>(rgb.cols * s)), std::max(1, static_cast<int>(rgb.rows * s))),
                 0, 0, s >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
      int x0 = label_w + gap + static_cast<int>(k) * (tile + gap);
      fit.copyTo(sheet(cv::Rect(x0 + (tile - fit.cols) / 2, y0 + (tile - fit.rows) / 2, fit.cols, fit.rows)));
    }
  }
  return encode_png(sheet);
}

}  // namespace bb
