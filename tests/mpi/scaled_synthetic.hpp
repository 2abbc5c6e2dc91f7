#pragma once
// The set-up most MPI tests share: this rank's block of a synthetic customer table, with the
// transform fitted across the ranks and applied (z-score, log1p where flagged).
#include <vector>

#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/segmentation.hpp"

namespace microseg::test_support {

struct ScaledSynthetic {
  CustomerBlock block;
  distributed::FittedTransform transform;
};

inline ScaledSynthetic scaled_synthetic(const distributed::Communicator& comm,
                                        const SyntheticSpec& spec, std::vector<char> log1p = {}) {
  const RowRange rows = distributed::block_of_rows(spec.customers, comm.rank(), comm.size());
  SyntheticBlock synthetic = generate_synthetic_block(spec, rows);
  ScaledSynthetic scaled;
  scaled.block = CustomerBlock{rows, synthetic.ids, synthetic.features, synthetic_feature_names()};
  if (log1p.empty()) log1p.assign(scaled.block.feature_names.size(), 0);
  scaled.transform =
      distributed::fit_and_apply_transform(comm, scaled.block, ScaleKind::zscore, log1p);
  return scaled;
}

}  // namespace microseg::test_support
