#include "eval/latency_input.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "datasets/loader.hpp"

namespace bb {

Tensor latency_input(const Dataset& ds, const DataConfig& dc, int batch, int C, int S) {
  LoaderOptions lo;
  lo.batch_size = batch;
  lo.workers = 0;
  lo.limit = std::min<int64_t>(batch, static_cast<int64_t>(ds.size()));
  Loader loader(ds, dc.transform, dc.augment, lo);
  loader.start_epoch(0);
  const Batch* b = loader.next();
  Tensor x(Shape{batch, C, S, S});
  const int64_t per = static_cast<int64_t>(C) * S * S, have = b ? b->size() : 0;
  if (have == 0) throw Error::input(ds.source(), "no images to time");
  for (int64_t i = 0; i < batch; ++i)
    std::copy(b->images.data() + (i % have) * per, b->images.data() + (i % have + 1) * per, x.data() + i * per);
  return x;
}

}  // namespace bb
