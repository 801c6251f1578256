#include "eval/teacher.hpp"

#include <cstdio>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/version.hpp"
#include "datasets/dataset_config.hpp"
#include "eval/evaluator.hpp"
#include "kernels/backend.hpp"
#include "models/vit.hpp"

namespace bb {

TrainData open_train_data(const RunConfig& cfg) {
  TrainData d;
  d.train_set = open_dataset(cfg.data.dataset, cfg.data.dataset.train_split);
  d.eval_set = open_dataset(cfg.data.dataset, cfg.data.dataset.eval_split);
  LoaderOptions lo;
  lo.batch_size = cfg.loader.batch_size;
  lo.workers = cfg.loader.workers;
  lo.prefetch = cfg.loader.prefetch;
  lo.train = true;
  lo.shuffle = true;
  lo.drop_last = false;
  lo.limit = cfg.loader.limit_train;
  lo.seed = cfg.seed;
  lo.rank = comm::rank();  // under mpirun: a slice of every global batch, a shard of the eval set
  lo.ranks = comm::size();
  d.train = std::make_unique<Loader>(*d.train_set, cfg.data.transform, cfg.data.augment, lo);
  LoaderOptions eo = lo;
  eo.batch_size = cfg.loader.eval_batch_size;
  eo.train = false;
  eo.shuffle = false;
  eo.limit = cfg.loader.limit_eval;
  d.eval = std::make_unique<Loader>(*d.eval_set, cfg.data.transform, cfg.data.augment, eo);
  return d;
}

TrainOutcome train_teacher(const RunConfig& cfg, const std::string& out_dir, bool resume, bool progress) {
  TrainData data = open_train_data(cfg);
  // Said once the data opened, so that a bad input gives one line on stderr.
  if (progress && comm::is_root())
    std::fprintf(stderr, "training %s on %s (%d threads, %d rank%s) -> %s\n", cfg.name.c_str(),
                 cfg.data.dataset.name.c_str(), num_threads(), comm::size(), comm::size() > 1 ? "s" : "", out_dir.c_str());
  if (data.train_set->num_classes() > cfg.model.num_classes)
    throw Error::config("config", "/model/num_classes",
                        std::to_string(cfg.model.num_classes) + " is below the data set's " +
                            std::to_string(data.train_set->num_classes()) + " classes");
  Loader& train_loader = *data.train;
  Loader& eval_loader = *data.eval;
  const Dataset* eval_ds = data.eval_set.get();
  const Dataset* train_ds = data.train_set.get();

  ViTParams params(cfg.model);
  params.init_random(cfg.seed);
  auto eval_backend = make_backend(ModelBackend::kOnednn);
  ViTRunner eval_model(params, *eval_backend);
  EvalFn eval = [&](const ViTParams&) {
    EvalResult r = evaluate([&](const TensorView& x) { return eval_model.forward(x); }, eval_loader, false,
                            "  eval " + eval_ds->name() + "/" + eval_ds->split());
    return EvalScores{r.top1(), r.top5()};
  };

  TrainerOptions o;
  o.train = cfg.train;
  o.out_dir = out_dir;
  o.resume = resume;
  o.progress = progress;
  o.metadata["recipe"] = to_json(cfg).dump();
  o.metadata["dataset"] = cfg.data.dataset.name;
  o.metadata["class_names"] = nlohmann::json(train_ds->class_names()).dump();
  o.metadata["transform"] = to_json(cfg.data)["transform"].dump();
  o.metadata["version"] = std::string(kVersion) + " (git " + kGitRevision + ")";
  Trainer trainer(params, train_loader, eval, o);
  return trainer.run();
}

}  // namespace bb
