#pragma once
// ImageFolder (root/<class>/**/*.{jpg,jpeg,png}) and the flat ImageNet
// validation folder with a label file. Classes and files are ordered as timm
// orders them: natural sort ("img2" before "img10"), case-insensitive.
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace bb {

// timm's natural_key ordering: digit runs compare as numbers, the rest lower-cased.
bool natural_less(const std::string& a, const std::string& b);

// Every immediate subfolder of root is a class; images anywhere below it
// belong to it. Files that are not .jpg/.jpeg/.png are passed over and listed
// in skipped(); a class folder without images is an error.
std::unique_ptr<Dataset> load_image_folder(const std::string& root, const std::string& name = "imagefolder",
                                           const std::string& split = "");

struct ImagenetOptions {
  std::string label_file;  // val_map.txt-style or LOC_val_solution.csv; "" = look for one
  std::string synset_map;  // LOC_synset_mapping.txt; "" = look next to the label file
};

// A flat folder of images labelled by a file:
//  - "val_map.txt" style: lines `<file> <label>`, label an integer class index
//    or a synset id (then the synset map gives its index);
//  - Kaggle's LOC_val_solution.csv (`ImageId,PredictionString`, the first
//    synset of PredictionString is the label) with LOC_synset_mapping.txt.
// Every image the label file names must exist.
std::unique_ptr<Dataset> load_imagenet_flat(const std::string& dir, const ImagenetOptions& opt,
                                            const std::string& split = "val");

// ImageNet as users keep it: <dir>/train and <dir>/val as ImageFolders, or
// <dir>/val (or <dir> itself) flat with a label file.
std::unique_ptr<Dataset> load_imagenet(const std::string& dir, const std::string& split, const ImagenetOptions& opt);

}  // namespace bb
