#include <ostream>

#include "microseg/app/commands.hpp"
#include "microseg/core/synthetic.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/segments_file.hpp"

namespace microseg::app {

void run_generate(const distributed::Communicator& comm, const GenerateConfig& config,
                  std::ostream& log) {
  const RowRange rows = distributed::block_of_rows(config.customers, comm.rank(), comm.size());
  SyntheticSpec spec{config.customers, config.segments, config.separation, config.seed};
  SyntheticBlock block;
  comm.run_agreed([&] { block = generate_synthetic_block(spec, rows); });
  comm.run_agreed([&] {
    io::write_customer_table(config.output, comm.native(), config.customers,
                             synthetic_feature_names(), rows, block.ids, block.features,
                             block.planted_segment);
  });
  if (comm.is_root()) {
    log << "microseg generate: wrote " << config.customers << " customers in " << config.segments
        << " planted segments (" << synthetic_feature_names().size() << " features, separation "
        << config.separation << ", seed " << config.seed << ") to " << config.output << "\n";
  }
}

}  // namespace microseg::app
