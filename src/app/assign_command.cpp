#include <algorithm>
#include <boost/program_options/options_description.hpp>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include "microseg/app/assign.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/app/provenance.hpp"
#include "microseg/core/assignment.hpp"
#include "microseg/distributed/feature_preparation.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/io/assignment_scores.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/run_model.hpp"
#include "microseg/io/segments_file.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description assign_options() {
  namespace po = boost::program_options;
  po::options_description options("microseg assign options");
  options.add_options()                                                                  //
      ("model", po::value<std::string>(), "output directory of a microseg segment run")  //
      ("input", po::value<std::string>(), "customer HDF5 file to score")                 //
      ("output", po::value<std::string>(), "output directory (assignments.h5 is written)");
  return options;
}

// The columns the model's features are made from, in the model's order; names every missing one
// at once.
std::vector<int> model_columns(const io::RunModel& model, const io::CustomerTableSchema& schema) {
  std::string missing;
  for (const auto& name : model.transform.sources) {
    if (std::find(schema.feature_names.begin(), schema.feature_names.end(), name) ==
        schema.feature_names.end()) {
      missing += (missing.empty() ? "'" : ", '") + name + "'";
    }
  }
  if (!missing.empty()) {
    std::string needed;
    for (const auto& name : model.transform.sources) {
      needed += (needed.empty() ? "" : ", ") + name;
    }
    throw InputError("input file '" + schema.path + "' lacks feature " + missing +
                     " that the model of run '" + model.directory + "' needs (it uses " + needed +
                     ")");
  }
  return io::select_features(schema, model.transform.sources);
}

// For each one-hot column: the input's codes mapped by category name to the model's (−1 for a
// name the model does not know), since another file may number the same categories otherwise.
std::vector<std::vector<std::int64_t>> category_code_maps(const io::RunModel& model,
                                                          const io::CustomerTableSchema& schema,
                                                          const std::vector<int>& columns) {
  const FeatureTransform& transform = model.transform;
  std::vector<std::vector<std::int64_t>> maps(transform.sources.size());
  for (std::size_t s = 0; s < transform.sources.size(); ++s) {
    const auto& known = transform.categories[s];
    if (known.empty()) continue;
    const auto& names = schema.categories[static_cast<std::size_t>(columns[s])];
    if (names.empty()) {
      throw InputError("input file '" + schema.path + "': column '" + transform.sources[s] +
                       "' has no category names (attribute 'categories'), but the model of run '" +
                       model.directory + "' one-hot expands it by name");
    }
    for (const auto& name : names) {
      const auto found = std::find(known.begin(), known.end(), name);
      maps[s].push_back(found == known.end() ? -1 : found - known.begin());
    }
  }
  return maps;
}

}  // namespace

std::string assign_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg assign --model RUN_DIR --input customers.h5 --output DIR"
          " [--config job.ini]\n\n"
       << assign_options()
       << "  --config arg              INI job file (key = value; the command line wins)\n";
  return text.str();
}

AssignConfig parse_assign_options(const std::vector<std::string>& arguments) {
  const OptionReader options("assign", assign_options(), arguments);
  AssignConfig config;
  config.model = options.required("model");
  config.input = options.required("input");
  config.output = options.required("output");
  config.job_file = options.job_file();
  return config;
}

void assign_command(const distributed::Communicator& comm,
                    const std::vector<std::string>& arguments) {
  run_assign(comm, parse_on_root<AssignConfig>(comm, arguments, parse_assign_options), std::cout);
}

void run_assign(const distributed::Communicator& comm, const AssignConfig& config,
                std::ostream& log) {
  io::RunModel model;
  io::CustomerTableSchema schema;
  std::vector<int> columns;
  std::vector<std::vector<std::int64_t>> code_maps;
  comm.run_agreed([&] {
    model = io::read_run_model(config.model);
    schema = io::inspect_customer_table(config.input, comm.native());
    columns = model_columns(model, schema);
    code_maps = category_code_maps(model, schema, columns);
  });
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(config.output);
  });

  CustomerBlock block;
  comm.run_agreed([&] {
    block = io::read_customer_block(
        schema, columns, distributed::block_of_rows(schema.rows, comm.rank(), comm.size()),
        comm.native());
  });
  distributed::check_unique_ids(comm, block.ids, config.input);
  const TextFields input_print = input_fingerprint(config.input, schema.rows, block.feature_names,
                                                   content_digest(comm, block));
  // The saved transform, applied exactly as the run applied its fitted one, so customers of the
  // training data land on the same scaled values and the same segments.
  const distributed::PreparedCustomers prepared = distributed::apply_saved_preparation(
      comm, block, model.transform, model.scaling, code_maps, config.input);
  const RowRange rows = block.rows;  // with --missing drop in the model: the kept customers

  const NearestTwo nearest = nearest_two(block.features, model.centroids);
  const auto count = static_cast<std::size_t>(rows.size());
  std::vector<std::int32_t> segments(count), second_segments(count);
  std::vector<double> margins(count);
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(model.k()), 0);
  for (std::size_t i = 0; i < count; ++i) {
    segments[i] = static_cast<std::int32_t>(model.identity.ids[nearest.nearest[i]]);
    second_segments[i] = nearest.second[i] < 0
                             ? -1
                             : static_cast<std::int32_t>(model.identity.ids[nearest.second[i]]);
    margins[i] = nearest.second_distance[i] - nearest.nearest_distance[i];
    ++sizes[nearest.nearest[i]];
  }
  comm.sum_in_place(sizes);

  RunAttributes run;
  run.emplace_back("model", config.model);
  run.emplace_back("input", config.input);
  run.emplace_back("job_file", config.job_file);
  run.emplace_back("ranks", static_cast<std::int64_t>(comm.size()));
  run.emplace_back("customers", prepared.customers);
  run.emplace_back("dropped_customers", prepared.dropped);
  run.emplace_back("unknown_categories", prepared.unknown_categories);
  run.emplace_back("k", static_cast<std::int64_t>(model.k()));
  run.emplace_back("version_microseg", std::string(MICROSEG_VERSION));
  const io::ScoredBlock scored{rows,
                               prepared.customers,
                               &block.ids,
                               &segments,
                               &nearest.nearest_distance,
                               &second_segments,
                               &nearest.second_distance,
                               &margins};
  comm.run_agreed([&] { io::write_assignment_scores(config.output, comm.native(), scored, run); });
  remove_run_manifest(comm, config.output);
  io::RunManifest manifest;
  manifest.command = "assign";
  manifest.outputs = {(std::filesystem::path(config.output) / "assignments.h5").string()};
  manifest.input = config.input;
  manifest.input_fingerprint = input_print;
  manifest.configuration = {{"model", config.model},
                            {"input", config.input},
                            {"output", config.output},
                            {"job_file", config.job_file}};
  write_run_manifest(comm, config.output, manifest);

  if (comm.is_root()) {
    log << "microseg assign: " << prepared.customers << " customers from " << config.input
        << " scored against run " << config.model << " (" << model.k() << " segments) on "
        << comm.size() << " ranks\n";
    if (prepared.dropped > 0) {
      log << "dropped " << prepared.dropped
          << " customers with missing values (the model's --missing drop)\n";
    }
    if (prepared.unknown_categories > 0) {
      log << prepared.unknown_categories
          << " category values unknown to the model: those customers get 0 in every indicator of "
             "that column\n";
    }
    log << "\nsegment  customers   share\n";
    for (int s = 0; s < model.k(); ++s) {
      log << std::setw(7) << model.identity.ids[s] << std::setw(11) << sizes[s] << std::setw(7)
          << std::fixed << std::setprecision(1)
          << 100.0 * static_cast<double>(sizes[s]) / static_cast<double>(prepared.customers)
          << "%\n";
    }
    log << std::defaultfloat << std::setprecision(6)
        << "\noutput: " << (std::filesystem::path(config.output) / "assignments.h5").string()
        << "\n";
  }
}

}  // namespace microseg::app
