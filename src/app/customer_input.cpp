#include "microseg/app/customer_input.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "microseg/app/option_reader.hpp"

#include "microseg/app/provenance.hpp"

namespace microseg::app {

void add_transform_options(boost::program_options::options_description& options) {
  namespace po = boost::program_options;
  options.add_options()  //
      ("missing", po::value<std::string>(),
       "missing values (NaN): reject | mean | median | drop (default reject)")  //
      ("one-hot", po::value<std::string>(),
       "categorical code columns to expand into one 0/1 column per category")  //
      ("clip-quantiles", po::value<std::string>(),
       "clip numeric features at these quantiles, e.g. 0.01,0.99")  //
      ("weights", po::value<std::string>(),
       "per-feature weights after scaling, e.g. monetary=2,age=0.5 (default 1)");
}

TransformOptions parse_transform_options(const OptionReader& options) {
  TransformOptions parsed;
  const std::string missing = options.text("missing", "reject");
  try {
    parsed.missing = parse_missing_policy(missing);
  } catch (const InputError&) {
    invalid_option_value("missing", missing, "reject, mean, median or drop");
  }
  parsed.one_hot = options.list("one-hot");
  parsed.weights = options.list("weights");
  const std::vector<std::string> levels = options.list("clip-quantiles");
  if (options.has("clip-quantiles")) {
    const std::string text = options.text("clip-quantiles");
    for (const auto& level : levels) {
      double value = std::nan("");
      std::size_t used = 0;
      try {
        value = std::stod(level, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != level.size() || !(value >= 0 && value <= 1)) {
        invalid_option_value("clip-quantiles", text, "two levels in [0, 1], e.g. 0.01,0.99");
      }
      parsed.clip_quantiles.push_back(value);
    }
    if (parsed.clip_quantiles.size() != 2 || parsed.clip_quantiles[0] >= parsed.clip_quantiles[1]) {
      invalid_option_value("clip-quantiles", text,
                           "two levels low < high in [0, 1], e.g. 0.01,0.99");
    }
  }
  return parsed;
}

std::string describe(const TransformOptions& options) {
  const auto join = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
  };
  std::ostringstream text;
  text << "missing = " << to_string(options.missing) << "\none-hot = " << join(options.one_hot)
       << "\nclip-quantiles = ";
  if (!options.clip_quantiles.empty()) {
    text << options.clip_quantiles[0] << "," << options.clip_quantiles[1];
  }
  text << "\nweights = " << join(options.weights) << "\n";
  return text.str();
}

InspectedInput inspect_customer_input(const distributed::Communicator& comm,
                                      const CustomerSelection& selection, std::int64_t largest_k) {
  InspectedInput inspected;
  inspected.selection = selection;
  inspected.largest_k = largest_k;
  comm.run_agreed([&] {
    inspected.schema = io::inspect_customer_table(selection.input, comm.native());
    inspected.columns = io::select_features(inspected.schema, selection.features);
    std::vector<std::string> sources;
    std::vector<std::vector<std::string>> categories(inspected.columns.size());
    for (int c : inspected.columns) sources.push_back(inspected.schema.feature_names[c]);
    for (const auto& name : selection.transform.one_hot) {
      const auto it = std::find(sources.begin(), sources.end(), name);
      if (it == sources.end()) {
        throw InputError("option --one-hot: column '" + name +
                         "' is not among the features being segmented");
      }
      const auto s = static_cast<std::size_t>(it - sources.begin());
      categories[s] = inspected.schema.categories[inspected.columns[s]];
      if (categories[s].empty()) {
        throw InputError("option --one-hot: column '" + name + "' of input file '" +
                         selection.input +
                         "' has no category names (a 'categories' attribute naming a string "
                         "dataset, as 'microseg ingest features --categorical' writes)");
      }
    }
    inspected.plan =
        FeatureTransform::plan(selection.transform.missing, sources, std::move(categories));
    set_weights(inspected.plan, selection.transform.weights);
    inspected.feature_names = inspected.plan.names();
    const auto& names = inspected.feature_names;
    inspected.log1p.assign(names.size(), 0);
    for (const auto& name : selection.log1p_features) {
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        throw InputError(
            "option --log1p: feature '" + name + "' is not among the features being segmented" +
            (std::find(selection.transform.one_hot.begin(), selection.transform.one_hot.end(),
                       name) != selection.transform.one_hot.end()
                 ? std::string(" (it is one-hot expanded)")
                 : std::string()));
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
  const RowRange rows = distributed::block_of_rows(input.schema.rows, comm.rank(), comm.size());
  comm.run_agreed([&] {
    scaled.block = io::read_customer_block(input.schema, input.columns, rows, comm.native());
  });
  distributed::check_unique_ids(comm, scaled.block.ids, input.selection.input);
  // The digest is of the rows as read, before any value is filled, clipped or dropped.
  scaled.content_digest = content_digest(comm, scaled.block);
  const auto transform_started = std::chrono::steady_clock::now();
  distributed::TransformSettings settings;
  settings.scale = input.selection.scale;
  settings.log1p = input.log1p;
  const auto& clip = input.selection.transform.clip_quantiles;
  if (!clip.empty()) {
    settings.clip_low = clip[0];
    settings.clip_high = clip[1];
  }
  distributed::PreparedCustomers prepared = distributed::fit_and_apply_preparation(
      comm, scaled.block, input.plan, settings, input.selection.input);
  scaled.rows = scaled.block.rows;
  scaled.seconds_transform =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - transform_started).count();
  scaled.transform = std::move(prepared.scaling);
  scaled.features = std::move(prepared.features);
  scaled.customers = prepared.customers;
  scaled.dropped = prepared.dropped;
  scaled.kept = std::move(prepared.kept);
  if (input.largest_k > scaled.customers) {
    comm.agree("option --k: k = " + std::to_string(input.largest_k) + " is larger than the " +
               std::to_string(scaled.customers) + " customers left in '" + input.selection.input +
               "' after dropping " + std::to_string(scaled.dropped) + " with missing values");
  }
  return scaled;
}

}  // namespace microseg::app
