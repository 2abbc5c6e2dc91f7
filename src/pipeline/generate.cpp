#include "microseg/pipeline/generate.hpp"

#include "microseg/core/synthetic.hpp"
#include "microseg/io/customer_table.hpp"

namespace microseg::pipeline {

int generate(const distributed::Communicator& comm, const GeneratePlan& plan) {
  const RowRange rows = distributed::block_of_rows(plan.customers, comm.rank(), comm.size());
  const SyntheticSpec spec{plan.customers, plan.segments,       plan.separation,
                           plan.seed,      plan.macro_segments, plan.macro_separation};
  SyntheticBlock block;
  comm.run_agreed([&] { block = generate_synthetic_block(spec, rows); });
  const io::CustomerTableBlock table{rows,
                                     plan.customers,
                                     &synthetic_feature_names(),
                                     &block.ids,
                                     &block.features,
                                     &block.planted_segment,
                                     &block.planted_macro_segment};
  comm.run_agreed([&] { io::write_customer_table(plan.output, comm.native(), table); });
  return static_cast<int>(synthetic_feature_names().size());
}

}  // namespace microseg::pipeline
