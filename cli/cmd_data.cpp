// bitbench data inspect: what a data set holds, as bitbench reads it.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "datasets/loader.hpp"
#include "datasets/stats.hpp"
#include "eval/run_config.hpp"

namespace bb::cli {
namespace {

struct InspectArgs {
  std::string config, dataset, data_dir, split, label_file, synset_map, grid;
  int64_t limit = 0;
  int workers = 0;
  int grid_per_class = 8;
  bool json = false;
  uint64_t seed = 0;
};

std::string fmt(double v, int digits = 4) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

void run_inspect(const InspectArgs& a) {
  RunConfig cfg = a.config.empty() ? default_run_config() : load_run_config(a.config);
  DatasetConfig d = cfg.data.dataset;
  if (!a.dataset.empty() && a.dataset != d.name) {
    d = DatasetConfig{};
    d.name = a.dataset;
  }
  if (!a.data_dir.empty()) d.data_dir = a.data_dir;
  if (!a.label_file.empty()) d.label_file = a.label_file;
  if (!a.synset_map.empty()) d.synset_map = a.synset_map;
  DataConfig dc{d, {}, {}};
  resolve(dc);
  d = dc.dataset;
  std::string split = a.split.empty() ? d.eval_split : a.split;

  // Refuse a grid path we cannot write before doing any work.
  if (!a.grid.empty()) {
    std::filesystem::path gp(a.grid);
    std::string ext = gp.extension().string();
    if (ext != ".png" && ext != ".PNG") throw Error::usage("--grid " + a.grid + ": the contact sheet is written as PNG; name a .png file");
    check_output_path(a.grid, "--grid");
  }

  auto ds = open_dataset(d, split);
  std::vector<int64_t> indices;
  if (a.limit > 0 && a.limit < static_cast<int64_t>(ds->size()))
    indices = seeded_subset(static_cast<int64_t>(ds->size()), a.limit, a.seed);  // as the loader picks it
  int workers = a.workers > 0 ? a.workers : num_threads();
  DatasetStats st = compute_stats(*ds, indices, workers, !a.json);

  std::string grid_note;
  if (!a.grid.empty()) {
    write_file_atomic(a.grid, contact_sheet_png(*ds, indices, a.grid_per_class));
    grid_note = a.grid;
  }

  if (a.json) {
    nlohmann::json j;
    j["dataset"] = ds->name();
    j["split"] = ds->split();
    j["source"] = ds->source();
    j["count"] = st.count;
    j["image_shape"] = {{"min_height", st.min_height}, {"max_height", st.max_height}, {"min_width", st.min_width},
                        {"max_width", st.max_width},   {"channels", st.channels}};
    nlohmann::json classes = nlohmann::json::array();
    for (int c = 0; c < ds->num_classes(); ++c)
      classes.push_back({{"index", c}, {"name", ds->class_names()[static_cast<size_t>(c)]},
                         {"count", st.per_class[static_cast<size_t>(c)]}});
    j["classes"] = classes;
    j["pixel_mean"] = st.mean;
    j["pixel_std"] = st.std;
    j["skipped_files"] = ds->skipped();
    if (!grid_note.empty()) j["grid"] = grid_note;
    j["threads"] = workers;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << "data set     " << ds->name() << " (" << ds->split() << " split)\n";
  std::cout << "source       " << ds->source() << "\n";
  std::cout << "images       " << st.count;
  if (!indices.empty()) std::cout << " (seeded subset of " << ds->size() << ")";
  std::cout << "\n";
  if (st.min_height == st.max_height && st.min_width == st.max_width)
    std::cout << "image shape  " << st.max_height << " x " << st.max_width << " x " << st.channels << " (H x W x C)\n";
  else
    std::cout << "image shape  " << st.min_height << ".." << st.max_height << " x " << st.min_width << ".." << st.max_width
              << " x " << st.channels << " (H x W x C, varies)\n";
  std::cout << "classes      " << ds->num_classes() << "\n";
  size_t width = 4;
  for (const auto& n : ds->class_names()) width = std::max(width, n.size());
  for (int c = 0; c < ds->num_classes(); ++c) {
    const std::string& n = ds->class_names()[static_cast<size_t>(c)];
    std::printf("  %4d  %-*s  %lld\n", c, static_cast<int>(width), n.c_str(),
                static_cast<long long>(st.per_class[static_cast<size_t>(c)]));
  }
  std::fflush(stdout);
  std::string means, stds;
  for (size_t c = 0; c < st.mean.size(); ++c) {
    means += (c ? " " : "") + fmt(st.mean[c]);
    stds += (c ? " " : "") + fmt(st.std[c]);
  }
  std::cout << "pixel mean   " << means << "   (raw pixels scaled to [0,1], per channel)\n";
  std::cout << "pixel std    " << stds << "\n";
  if (!ds->skipped().empty())
    std::cout << "skipped      " << ds->skipped().size() << " non-image files (first: " << ds->skipped()[0] << ")\n";
  if (!grid_note.empty()) std::cout << "grid         " << grid_note << "\n";
  std::cout << "threads      " << workers << " decoding\n";
}

}  // namespace

void check_output_path(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
    throw Error::input(parent.string(), "no such directory for " + flag);
  // A folder (or anything but a file) where the file goes would fail only at the end, after all the work.
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    throw Error::usage(flag + " " + path + (std::filesystem::is_directory(st) ? " is a folder" : " is not a regular file") +
                       "; name a file to write");
}

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Inspect the data sets bitbench reads");
  data->require_subcommand(1);
  static InspectArgs a;
  auto* inspect = data->add_subcommand(
      "inspect",
      "Count images and classes, measure pixel mean/std, optionally draw a contact sheet.\n"
      "Without flags: Fashion-MNIST test split from Debian's dataset-fashion-mnist.");
  inspect->add_option("--config", a.config, "Take the data set from this config file");
  inspect->add_option("--dataset", a.dataset, "Data set")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10", "cifar100", "imagefolder", "imagenet"}));
  inspect->add_option("--data-dir", a.data_dir, "Directory holding the data set");
  inspect->add_option("--split", a.split, "Split (default: the data set's evaluation split)")
      ->check(CLI::IsMember({"train", "test", "val"}));
  inspect->add_option("--label-file", a.label_file, "ImageNet flat val: val_map.txt or LOC_val_solution.csv");
  inspect->add_option("--synset-map", a.synset_map, "ImageNet: LOC_synset_mapping.txt");
  inspect->add_option("--limit", a.limit, "Inspect a seeded subset of N images (0 = all)")->check(CLI::NonNegativeNumber);
  inspect->add_option("--seed", a.seed, "Seed of the --limit subset");
  inspect->add_option("--workers", a.workers, "Decoding threads (0 = --threads)")->check(CLI::Range(0, 256));
  inspect->add_option("--grid", a.grid, "Write a PNG contact sheet of samples labelled by class");
  inspect->add_option("--grid-per-class", a.grid_per_class, "Samples per class in the contact sheet")
      ->check(CLI::Range(1, 64));
  inspect->add_flag("--json", a.json, "Print the result as JSON");
  inspect->callback([] { run_inspect(a); });
}

}  // namespace bb::cli
