#pragma once
// The set-up most MPI tests share: this rank's block of a synthetic customer table, prepared by
// the production path (distributed::fit_and_apply_preparation: z-score, log1p where flagged)
// across the ranks, with the rows as generated kept for the profiles.
#include <functional>
#include <vector>

#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/feature_preparation.hpp"
#include "microseg/distributed/rank_rows.hpp"

namespace microseg::test_support {

struct ScaledSynthetic {
  distributed::RankRows rows;
  distributed::FittedTransform transform;
  FeatureMatrix original;  // this rank's rows before the transform (original units)
};

// `adjust`, when given, changes the scaled features before the rows are formed (a test's own
// grid, say), so the rows' cached bounds describe what the stages see.
inline ScaledSynthetic scaled_synthetic(const distributed::Communicator& comm,
                                        const SyntheticSpec& spec, std::vector<char> log1p = {},
                                        const std::function<void(FeatureMatrix&)>& adjust = {}) {
  const RowRange rows = distributed::block_of_rows(spec.customers, comm.rank(), comm.size());
  SyntheticBlock synthetic = generate_synthetic_block(spec, rows);
  const std::vector<std::string>& names = synthetic_feature_names();
  CustomerBlock block{rows, synthetic.ids, synthetic.features, names, {}};
  FeatureMatrix original = block.features;
  if (log1p.empty()) log1p.assign(names.size(), 0);
  distributed::TransformSettings settings;
  settings.scale = ScaleKind::zscore;
  settings.log1p = log1p;
  const FeatureTransform plan = FeatureTransform::plan(
      MissingPolicy::reject, names, std::vector<std::vector<std::string>>(names.size()));
  distributed::PreparedCustomers prepared =
      distributed::fit_and_apply_preparation(comm, block, plan, settings, "synthetic customers");
  if (adjust) adjust(block.features);
  return {distributed::RankRows(comm, std::move(block)), std::move(prepared.scaling),
          std::move(original)};
}

}  // namespace microseg::test_support
