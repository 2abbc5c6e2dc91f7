// The pipeline's read stages on real HDF5 files at 1-4 ranks: the features in original units read
// again for the profiles are the values as read (after the fitted one-hot, fill and clipping), and
// a file changed between the two reads is refused on every rank, naming it.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "microseg/core/synthetic.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/pipeline/customer_input.hpp"
#include "shared_temp_dir.hpp"

using namespace microseg;
using Catch::Matchers::Contains;
using distributed::AgreedError;
using distributed::Communicator;

namespace {

// A synthetic table written with this rank's rows; `changed_row` gets its first feature
// doubled (a file edited between two reads).
void write_table(const Communicator& comm, const std::string& path, std::int64_t customers,
                 std::int64_t changed_row = -1) {
  const RowRange rows = distributed::block_of_rows(customers, comm.rank(), comm.size());
  SyntheticBlock block = generate_synthetic_block({customers, 4, 3.0, 9}, rows);
  if (changed_row >= rows.begin && changed_row < rows.end) {
    block.features(changed_row - rows.begin, 0) *= 2;
  }
  const io::CustomerTableBlock table{rows,       customers,       &synthetic_feature_names(),
                                     &block.ids, &block.features, &block.planted_segment};
  io::write_customer_table(path, comm.native(), table);
}

pipeline::CustomerSelection selection_of(const std::string& path) {
  pipeline::CustomerSelection selection;
  selection.input = path;
  selection.features = {"age", "income", "monetary"};
  selection.log1p_features = {"monetary"};
  selection.transform.clip_quantiles = {0.05, 0.95};
  return selection;
}

}  // namespace

TEST_CASE("the original-unit features read again are the values as read, clipped as fitted") {
  const Communicator comm;
  const test_support::SharedTempDir temp("microseg-pipeline-test");
  const std::string path = temp.file("customers.h5");
  write_table(comm, path, 1001);
  const pipeline::InspectedInput input =
      pipeline::inspect_customer_input(comm, selection_of(path), 4);
  pipeline::PreparedCustomers prepared = pipeline::read_and_prepare(comm, input);
  const FeatureTransform& fitted = prepared.features;
  prepared.rows.release_features();
  const FeatureMatrix original = pipeline::read_original_features(comm, input, prepared);

  const RowRange rows = distributed::block_of_rows(1001, comm.rank(), comm.size());
  const SyntheticBlock block = generate_synthetic_block({1001, 4, 3.0, 9}, rows);
  const auto& names = synthetic_feature_names();
  REQUIRE(original.rows() == rows.size());
  REQUIRE(original.cols() == 3);
  std::int64_t clipped = 0;
  for (Eigen::Index i = 0; i < original.rows(); ++i) {
    for (int j = 0; j < 3; ++j) {
      const auto source = std::find(names.begin(), names.end(), fitted.sources[j]) - names.begin();
      const float as_read = block.features(i, source);
      // Clipping is the only change to a value: it stays as read, or lands on a fitted bound.
      const float low = static_cast<float>(fitted.clip_low[j]);
      const float high = static_cast<float>(fitted.clip_high[j]);
      const float expected = std::min(std::max(as_read, low), high);
      clipped += expected != as_read;
      CHECK(original(i, j) == expected);
    }
  }
  // 5 % clipped at each end of each column, over all ranks.
  CHECK(comm.sum(clipped) > 0);
}

TEST_CASE("a file changed between the read and the profiles' read is refused on every rank") {
  const Communicator comm;
  const test_support::SharedTempDir temp("microseg-pipeline-test");
  const std::string path = temp.file("customers.h5");
  write_table(comm, path, 999);
  const pipeline::InspectedInput input =
      pipeline::inspect_customer_input(comm, selection_of(path), 4);
  pipeline::PreparedCustomers prepared = pipeline::read_and_prepare(comm, input);
  prepared.rows.release_features();
  write_table(comm, path, 999, 998);  // one value of the last row, on the last rank
  std::string message;
  try {
    pipeline::read_original_features(comm, input, prepared);
  } catch (const AgreedError& e) {
    message = e.what();
  }
  CHECK_THAT(message, Contains(path) && Contains("changed while the run was in progress"));
}
