#include "train/train_config.hpp"

namespace bb {

TrainConfig read_train_config(JsonReader& r) {
  TrainConfig c;
  r.read("epochs", c.epochs, 0, 100000);
  r.read("lr", c.lr, Range{0, 10, true, false});
  r.read("min_lr", c.min_lr, Range{0, 10});
  r.read("warmup_epochs", c.warmup_epochs, Range{0, 100000});
  r.read("weight_decay", c.weight_decay, Range{0, 10});
  r.read("beta1", c.beta1, Range{0, 1, false, true});
  r.read("beta2", c.beta2, Range{0, 1, false, true});
  r.read("adam_eps", c.adam_eps, Range{0, 1, true, false});
  r.read("label_smoothing", c.label_smoothing, Range{0, 1, false, true});
  r.read("clip_grad", c.clip_grad, Range{0, 1e9});
  r.read("checkpoint_every", c.checkpoint_every, 0, INT64_MAX);
  std::string backend = model_backend_name(c.backend);
  r.read_enum("backend", backend, {"reference", "onednn"});
  c.backend = parse_model_backend(backend);  // parsed once, here
  r.read("plateau_patience", c.plateau_patience, 0, 100000);
  r.read("plateau_factor", c.plateau_factor, Range{0, 1, true, false});
  r.read("early_stop_patience", c.early_stop_patience, 0, 100000);
  r.finish();
  return c;
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"epochs", c.epochs},
          {"lr", c.lr},
          {"min_lr", c.min_lr},
          {"warmup_epochs", c.warmup_epochs},
          {"weight_decay", c.weight_decay},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"adam_eps", c.adam_eps},
          {"label_smoothing", c.label_smoothing},
          {"clip_grad", c.clip_grad},
          {"checkpoint_every", c.checkpoint_every},
          {"backend", model_backend_name(c.backend)},
          {"plateau_patience", c.plateau_patience},
          {"plateau_factor", c.plateau_factor},
          {"early_stop_patience", c.early_stop_patience}};
}

}  // namespace bb
