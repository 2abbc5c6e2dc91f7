#include "microseg/app/customer_input.hpp"

#include <algorithm>

#include "microseg/app/provenance.hpp"

namespace microseg::app {

InspectedInput inspect_customer_input(const distributed::Communicator& comm,
                                      const CustomerSelection& selection, std::int64_t largest_k) {
  InspectedInput inspected;
  inspected.selection = selection;
  comm.run_agreed([&] {
    inspected.schema = io::inspect_customer_table(selection.input, comm.native());
    inspected.columns = io::select_features(inspected.schema, selection.features);
    for (int c : inspected.columns) {
      inspected.feature_names.push_back(inspected.schema.feature_names[c]);
    }
    const auto& names = inspected.feature_names;
    inspected.log1p.assign(names.size(), 0);
    for (const auto& name : selection.log1p_features) {
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        throw InputError("option --log1p: feature '" + name +
                         "' is not among the features being segmented");
      }
      inspected.log1p[static_cast<std::size_t>(it - names.begin())] = 1;
    }
    if (largest_k > inspected.schema.rows) {
      throw InputError("option --k: k = " + std::to_string(largest_k) + " is larger than the " +
                       std::to_string(inspected.schema.rows) + " customers in '" + selection.input +
                       "'");
    }
  });
  return inspected;
}

ScaledCustomers read_and_scale(const distributed::Communicator& comm, const InspectedInput& input) {
  ScaledCustomers scaled;
  scaled.rows = distributed::block_of_rows(input.schema.rows, comm.rank(), comm.size());
  comm.run_agreed([&] {
    scaled.block = io::read_customer_block(input.schema, input.columns, scaled.rows, comm.native());
  });
  distributed::check_finite(comm, scaled.block, input.selection.input);
  distributed::check_unique_ids(comm, scaled.block.ids, input.selection.input);
  scaled.content_digest = content_digest(comm, scaled.block);
  scaled.transform =
      distributed::fit_and_apply_transform(comm, scaled.block, input.selection.scale, input.log1p);
  return scaled;
}

}  // namespace microseg::app
