#include "train/training_state.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "models/safetensors.hpp"

namespace bb {

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j = {{"epoch", r.epoch},         {"train_loss", r.train_loss}, {"train_top1", r.train_top1},
                      {"lr", r.lr},               {"images_per_sec", r.images_per_sec}, {"seconds", r.seconds},
                      {"eval_top1", r.eval_top1}, {"eval_top5", r.eval_top5},   {"forward_s", r.forward_s},
                      {"backward_s", r.backward_s}, {"optimizer_s", r.optimizer_s}, {"lr_scale", r.lr_scale}};
  if (r.ranks > 1) {
    j["ranks"] = r.ranks;
    j["allreduce_s"] = r.allreduce_s;
  }
  return j;
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.train_loss = j.at("train_loss");
  r.train_top1 = j.at("train_top1");
  r.lr = j.at("lr");
  r.images_per_sec = j.at("images_per_sec");
  r.seconds = j.at("seconds");
  r.eval_top1 = j.at("eval_top1");
  r.eval_top5 = j.at("eval_top5");
  r.forward_s = j.at("forward_s");
  r.backward_s = j.at("backward_s");
  r.optimizer_s = j.at("optimizer_s");
  r.ranks = j.value("ranks", 1);
  r.allreduce_s = j.value("allreduce_s", 0.0);
  r.lr_scale = j.value("lr_scale", 1.0);
  return r;
}

nlohmann::json to_json(const std::vector<EpochRecord>& history) {
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& r : history) hist.push_back(to_json(r));
  return hist;
}

namespace {

constexpr const char* kStateFormat = "bitbench-train-state";

nlohmann::json sums_json(const EpochSums& s) {
  return {{"loss_sum", s.loss_sum}, {"seconds", s.seconds}, {"fwd", s.fwd}, {"bwd", s.bwd},
          {"opt", s.opt},           {"comm", s.comm},       {"correct", s.correct}, {"count", s.count}};
}

EpochSums sums_from_json(const nlohmann::json& j) {
  return {j.at("loss_sum"), j.at("seconds"), j.at("fwd"), j.at("bwd"), j.at("opt"), j.value("comm", 0.0),
          j.at("correct"), j.at("count")};
}

// The optimizer's two moment buffers, as the checkpoint names them.
std::vector<std::pair<const char*, std::vector<float>*>> moments(AdamW& opt) {
  return {{"optimizer.m", &opt.m}, {"optimizer.v", &opt.v}};
}

void read_tensors(const SafetensorsFile& f, ViTParams& p, AdamW& opt) {
  for (const auto& e : p.entries) {
    const TensorInfo* t = f.find(e.name);
    if (!t || t->numel() != e.numel) throw Error::input(f.path(), "tensor " + e.name + " missing or mis-shaped");
    f.to_f32(*t, p.data(e));
  }
  for (auto [name, dst] : moments(opt)) {
    const TensorInfo* t = f.find(name);
    if (!t || t->numel() != p.count()) throw Error::input(f.path(), std::string("tensor ") + name + " missing or mis-shaped");
    f.to_f32(*t, dst->data());
  }
}

}  // namespace

void TrainingState::save(const std::string& path, const ViTParams& p, const AdamW& opt, int64_t steps_per_epoch,
                         std::map<std::string, std::string> metadata) const {
  std::vector<TensorToWrite> t;
  for (const auto& e : p.entries) t.push_back({e.name, e.shape, DType::F32, p.data(e)});
  t.push_back({"optimizer.m", {p.count()}, DType::F32, opt.m.data()});
  t.push_back({"optimizer.v", {p.count()}, DType::F32, opt.v.data()});
  const nlohmann::json st = {{"epoch", epoch},         {"batch_in_epoch", batch_in_epoch},
                             {"step", step},           {"adam_t", opt.t},
                             {"best_top1", best_top1}, {"lr_scale", lr_scale},
                             {"since_best", since_best}, {"steps_per_epoch", steps_per_epoch},
                             {"partial", sums_json(sums)}};
  metadata["format"] = kStateFormat;
  metadata["config"] = to_json(p.cfg).dump();
  metadata["num_heads"] = std::to_string(p.cfg.num_heads);
  metadata["state"] = st.dump();
  metadata["history"] = to_json(history).dump();
  write_safetensors(path, t, namespaced_metadata(metadata));
}

TrainingState TrainingState::load(const std::string& path, ViTParams& p, AdamW& opt, int64_t steps_per_epoch) {
  if (!std::filesystem::exists(path)) throw Error::input(path, "no checkpoint to resume from");
  const SafetensorsFile f = SafetensorsFile::read(path);
  auto meta = f.own_metadata();
  if (meta["format"] != kStateFormat) throw Error::input(path, "not a bitbench training checkpoint");
  if (meta["config"] != to_json(p.cfg).dump()) throw Error::input(path, "was written for another model config: " + meta["config"]);
  read_tensors(f, p, opt);
  const nlohmann::json st = parse_json_text(meta["state"], path + " (metadata bitbench.state)");
  TrainingState s;
  s.epoch = st.at("epoch");
  s.batch_in_epoch = st.at("batch_in_epoch");
  s.step = st.at("step");
  opt.t = st.at("adam_t");
  s.best_top1 = st.at("best_top1");
  s.lr_scale = st.value("lr_scale", 1.0);
  s.since_best = st.value("since_best", 0);
  s.sums = sums_from_json(st.at("partial"));
  for (const auto& r : parse_json_text(meta["history"], path + " (metadata bitbench.history)"))
    s.history.push_back(epoch_record_from_json(r));
  if (st.at("steps_per_epoch") != steps_per_epoch)
    throw Error::input(path, "was written with " + st.at("steps_per_epoch").dump() + " steps per epoch, this run has " +
                                 std::to_string(steps_per_epoch) + " (batch size or data changed)");
  return s;
}

}  // namespace bb
