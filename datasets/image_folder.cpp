#include "datasets/image_folder.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "core/file_io.hpp"
#include "datasets/image_decode.hpp"

namespace fs = std::filesystem;

namespace bb {
namespace {

bool hidden(const fs::path& p) {
  std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool is_integer(const std::string& s) {
  return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<std::string> lines_of(const std::string& path) {
  std::istringstream in(read_file_text(path, 256ull << 20));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// First existing file named `name` in the given folders, or "".
std::string find_in(const std::vector<fs::path>& dirs, const std::string& name) {
  for (const auto& d : dirs)
    if (is_file_path(d / name)) return (d / name).string();
  return "";
}

struct SynsetMap {
  std::vector<std::string> ids;    // "n01440764", in file order = class index
  std::vector<std::string> names;  // "tench"
  std::map<std::string, int> index;
};

SynsetMap read_synset_map(const std::string& path) {
  SynsetMap m;
  auto lines = lines_of(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = trim(lines[i]);
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    std::string id = line.substr(0, sp);
    std::string desc = sp == std::string::npos ? id : trim(line.substr(sp + 1));
    std::string first = desc.substr(0, desc.find(','));
    if (m.index.count(id)) throw Error::input(path, "line " + std::to_string(i + 1) + ": synset " + id + " listed twice");
    m.index[id] = static_cast<int>(m.ids.size());
    m.ids.push_back(id);
    m.names.push_back(first);
  }
  if (m.ids.empty()) throw Error::input(path, "no synsets listed");
  return m;
}

// An image named by a label file: the name as given, or with the usual extensions appended.
std::string resolve_image(const fs::path& dir, const std::string& stem) {
  fs::path p = dir / stem;
  if (has_image_extension(stem) && is_file_path(p)) return p.string();
  for (const char* ext : {".JPEG", ".jpg", ".jpeg", ".png", ".JPG", ".PNG"}) {
    fs::path q = dir / (stem + ext);
    if (is_file_path(q)) return q.string();
  }
  return "";
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Compare numerically without overflow: strip leading zeros, then length, then digits.
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
      continue;
    }
    if (da != db) return da;  // timm: int < str would raise; digits first keeps a total order
    char ca = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i])));
    char cb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j])));
    if (ca != cb) return ca < cb;
    ++i;
    ++j;
  }
  if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
  return a < b;  // tie-break on exact bytes for a strict order
}

namespace {
// Whether an entry is a directory (following a symlink); a link that loops or
// dangles is an error naming it rather than a filesystem exception.
bool is_dir(const fs::directory_entry& e) {
  std::error_code ec;
  const fs::file_status s = e.status(ec);
  if (ec && s.type() != fs::file_type::not_found)
    throw Error::input(e.path().string(), "cannot be read: " + ec.message());
  if (ec) throw Error::input(e.path().string(), "is a dangling symbolic link");
  return fs::is_directory(s);
}
}  // namespace

std::unique_ptr<Dataset> load_image_folder(const std::string& root, const std::string& name, const std::string& split) {
  if (!is_dir_path(root)) throw Error::input(root, "no such directory");
  std::vector<std::string> classes;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (!hidden(e.path()) && is_dir(e)) classes.push_back(e.path().filename().string());
  if (ec) throw Error::input(root, "cannot list directory: " + ec.message());
  if (classes.empty()) throw Error::input(root, "no class folders (expected root/<class>/<image>)");
  for (const std::string& c : classes)  // a class name goes into results and reports, which are UTF-8 text
    if (!is_valid_utf8(c))
      throw Error::input((fs::path(root) / c).string(), "class folder name is not valid UTF-8; rename the folder");
  std::sort(classes.begin(), classes.end(), natural_less);

  std::vector<FileListDataset::Item> items;
  std::vector<std::string> skipped;
  for (size_t c = 0; c < classes.size(); ++c) {
    fs::path cdir = fs::path(root) / classes[c];
    size_t before = items.size();
    // Directory symlinks are not followed, so a symlink loop cannot trap the walk.
    fs::recursive_directory_iterator it(cdir, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw Error::input(cdir.string(), "cannot list directory: " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) throw Error::input(it->path().string(), "cannot list directory: " + ec.message());
      if (hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        ec.clear();
        continue;
      }
      if (is_dir(*it)) continue;
      if (has_image_extension(it->path().string()) && it->is_regular_file())
        items.push_back({it->path().string(), static_cast<int>(c)});
      else
        skipped.push_back(it->path().string());
    }
    if (ec) throw Error::input(cdir.string(), "cannot list directory: " + ec.message());
    if (items.size() == before)
      throw Error::input(cdir.string(), "class folder holds no images (.jpg, .jpeg, .png)");
  }
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.label != b.label ? a.label < b.label : natural_less(a.path, b.path);
  });
  return std::make_unique<FileListDataset>(name, split, root, std::move(classes), std::move(items), std::move(skipped));
}

std::unique_ptr<Dataset> load_imagenet_flat(const std::string& dir, const ImagenetOptions& opt, const std::string& split) {
  if (!is_dir_path(dir)) throw Error::input(dir, "no such directory");
  fs::path d(dir), parent = d.parent_path();
  std::vector<fs::path> near = {d, parent, parent.parent_path(), parent.parent_path().parent_path()};
  std::string label_file = opt.label_file;
  if (label_file.empty()) label_file = find_in(near, "val_map.txt");
  if (label_file.empty()) label_file = find_in(near, "LOC_val_solution.csv");
  if (label_file.empty())
    throw Error::input(dir, "flat image folder without a label file (looked for val_map.txt and LOC_val_solution.csv "
                            "here and in the folders above; name one with --label-file)");
  if (!is_file_path(label_file)) throw Error::input(label_file, "no such label file");
  std::string synset_file = opt.synset_map;
  if (synset_file.empty()) {
    fs::path ld = fs::path(label_file).parent_path();
    synset_file = find_in({ld, d, parent}, "LOC_synset_mapping.txt");
  }
  SynsetMap synsets;
  if (!synset_file.empty()) synsets = read_synset_map(synset_file);

  auto lines = lines_of(label_file);
  bool kaggle = !lines.empty() && trim(lines[0]).rfind("ImageId", 0) == 0;
  std::vector<std::pair<std::string, std::string>> entries;  // (image stem, label token)
  for (size_t i = kaggle ? 1 : 0; i < lines.size(); ++i) {
    std::string line = trim(lines[i]);
    if (line.empty()) continue;
    std::string file, label;
    if (kaggle) {
      size_t comma = line.find(',');
      if (comma == std::string::npos)
        throw Error::input(label_file, "line " + std::to_string(i + 1) + ": expected ImageId,PredictionString");
      file = trim(line.substr(0, comma));
      std::istringstream ps(line.substr(comma + 1));
      ps >> label;
    } else {
      std::istringstream ls(line);
      ls >> file >> label;
      std::string extra;
      if (ls >> extra) label.clear();
    }
    if (file.empty() || label.empty())
      throw Error::input(label_file, "line " + std::to_string(i + 1) + ": expected `<file> <label>`, got \"" + line + "\"");
    entries.emplace_back(file, label);
  }
  if (entries.empty()) throw Error::input(label_file, "names no images");

  std::vector<std::string> class_names;
  int max_label = -1;
  for (const auto& [file, label] : entries)
    if (is_integer(label)) {
      // The class list is allocated from the largest label: bound it first.
      int l = std::stoi(label);
      if (l >= kMaxClasses)
        throw Error::input(label_file, "label " + label + " of " + file + " is above the limit of " +
                                           std::to_string(kMaxClasses) + " classes");
      max_label = std::max(max_label, l);
    }
  if (!synsets.ids.empty()) class_names = synsets.names;
  else
    for (int c = 0; c <= max_label; ++c) class_names.push_back(std::to_string(c));

  std::vector<FileListDataset::Item> items;
  for (size_t k = 0; k < entries.size(); ++k) {
    const auto& [file, label] = entries[k];
    int idx;
    if (is_integer(label)) {
      idx = std::stoi(label);
      if (idx >= static_cast<int>(class_names.size()))
        throw Error::input(label_file, "label " + label + " of " + file + " out of range for " +
                                           std::to_string(class_names.size()) + " classes in " + synset_file);
    } else {
      if (synsets.ids.empty())
        throw Error::input(label_file, "labels are synset ids but no LOC_synset_mapping.txt was found (name one with --synset-map)");
      auto it = synsets.index.find(label);
      if (it == synsets.index.end())
        throw Error::input(label_file, "synset " + label + " of " + file + " is not in " + synset_file);
      idx = it->second;
    }
    std::string path = resolve_image(d, file);
    if (path.empty()) throw Error::input(label_file, "names image " + file + " that is missing from " + dir);
    items.push_back({path, idx});
  }
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return natural_less(a.path, b.path); });
  return std::make_unique<FileListDataset>("imagenet", split, dir, std::move(class_names), std::move(items));
}

std::unique_ptr<Dataset> load_imagenet(const std::string& dir, const std::string& split, const ImagenetOptions& opt) {
  if (!is_dir_path(dir)) throw Error::input(dir, "no such directory");
  if (split != "train" && split != "val") throw Error::usage("imagenet has splits train and val, not \"" + split + "\"");
  fs::path folder = is_dir_path(fs::path(dir) / split) ? fs::path(dir) / split : fs::path(dir);
  bool has_class_dirs = false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (!hidden(e.path()) && is_dir_path(e.path())) {
      has_class_dirs = true;
      break;
    }
  if (ec) throw Error::input(folder.string(), "cannot list directory: " + ec.message());
  if (!has_class_dirs) return load_imagenet_flat(folder.string(), opt, split);
  auto ds = load_image_folder(folder.string(), "imagenet", split);
  return ds;
}

}  // namespace bb
