// `microseg generate --quarters`: quarter 1 is the single-file base; each later quarter is drawn
// from the one before (distributed/quarter_rows), and every quarter is written as it is made.
#include <filesystem>

#include "microseg/core/synthetic_quarters.hpp"
#include "microseg/distributed/quarter_rows.hpp"
#include "microseg/io/quarter_files.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/generate.hpp"
#include "microseg/pipeline/provenance.hpp"

namespace microseg::pipeline {
namespace {

QuartersSpec quarters_spec(const GeneratePlan& plan) {
  QuartersSpec spec;
  spec.base = SyntheticSpec{plan.customers, plan.segments,       plan.separation,
                            plan.seed,      plan.macro_segments, plan.macro_separation};
  spec.quarters = plan.quarters;
  spec.migration_rate = plan.migration_rate;
  spec.churn_rate = plan.churn_rate;
  spec.new_customers = plan.new_customers;
  spec.mover_churn_factor = plan.mover_churn_factor;
  return spec;
}

io::PlantedQuarters planted_quarters(const GeneratePlan& plan, const PlantedMovement& movement) {
  io::PlantedQuarters planted;
  planted.quarters = plan.quarters;
  planted.segments = movement.segments;
  planted.feature_names = synthetic_feature_names();
  planted.transition = movement.transition;
  planted.new_customer_share = movement.new_customer_share;
  planted.segment_value = movement.segment_value;
  planted.attributes = {{"quarters", static_cast<std::int64_t>(plan.quarters)},
                        {"migration_rate", plan.migration_rate},
                        {"churn_rate", plan.churn_rate},
                        {"new_customers", plan.new_customers},
                        {"mover_churn_factor", plan.mover_churn_factor},
                        {"seed", static_cast<std::int64_t>(plan.seed)}};
  return planted;
}

io::QuarterTable quarter_table(const QuartersSpec& spec, const distributed::QuarterRows& rows) {
  io::QuarterTable table;
  table.rows = rows.rows;
  table.total_rows = rows.total;
  table.features = synthetic_quarter_features(spec.base, rows.customers, rows.quarter);
  for (const QuarterCustomer& customer : rows.customers) {
    table.ids.push_back(customer.id);
    table.planted_segment.push_back(customer.segment);
    table.moved_down.push_back(customer.moved_down);
  }
  return table;
}

io::RunManifest quarters_manifest(const GeneratePlan& plan, std::vector<std::string> outputs) {
  io::RunManifest manifest;
  manifest.command = "generate";
  manifest.outputs = std::move(outputs);
  manifest.configuration = {{"customers", std::to_string(plan.customers)},
                            {"segments", std::to_string(plan.segments)},
                            {"separation", std::to_string(plan.separation)},
                            {"seed", std::to_string(plan.seed)},
                            {"quarters", std::to_string(plan.quarters)},
                            {"migration_rate", std::to_string(plan.migration_rate)},
                            {"churn_rate", std::to_string(plan.churn_rate)},
                            {"new_customers", std::to_string(plan.new_customers)},
                            {"mover_churn_factor", std::to_string(plan.mover_churn_factor)},
                            {"output", plan.output}};
  return manifest;
}

}  // namespace

std::vector<std::int64_t> generate_quarters(const distributed::Communicator& comm,
                                            const GeneratePlan& plan) {
  const QuartersSpec spec = quarters_spec(plan);
  PlantedMovement movement;
  comm.run_agreed([&] { movement = plant_movement(spec); });
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(plan.output);
  });
  remove_run_manifest(comm, plan.output);
  std::vector<std::int64_t> counts;
  distributed::QuarterRows rows;
  const auto table_of = [&](int quarter) {
    rows = quarter == 1 ? distributed::first_quarter_rows(comm, spec)
                        : distributed::next_quarter_rows(comm, spec, movement, rows);
    counts.push_back(rows.total);
    io::QuarterTable table;
    comm.run_agreed([&] { table = quarter_table(spec, rows); });
    return table;
  };
  const std::vector<std::string> outputs = io::write_quarter_files(
      plan.output, comm.native(), planted_quarters(plan, movement), table_of);
  write_run_manifest(comm, plan.output, quarters_manifest(plan, outputs));
  return counts;
}

}  // namespace microseg::pipeline
