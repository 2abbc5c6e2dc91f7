#include "microseg/pipeline/customer_input.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/id_partition.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/pipeline/provenance.hpp"

namespace microseg::pipeline {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

// The category names of each selected source that --one-hot expands (empty for the others).
std::vector<std::vector<std::string>> one_hot_categories(const InspectedInput& inspected,
                                                         const std::vector<std::string>& sources) {
  const CustomerSelection& selection = inspected.selection;
  std::vector<std::vector<std::string>> categories(sources.size());
  for (const auto& name : selection.transform.one_hot) {
    const auto it = std::find(sources.begin(), sources.end(), name);
    if (it == sources.end()) {
      throw InputError("option --one-hot: column '" + name +
                       "' is not among the features being segmented");
    }
    const auto s = static_cast<std::size_t>(it - sources.begin());
    categories[s] = inspected.schema.categories[inspected.columns[s]];
    if (categories[s].empty()) {
      throw InputError("option --one-hot: column '" + name + "' of input file '" + selection.input +
                       "' has no category names (a 'categories' attribute naming a string "
                       "dataset, as 'microseg ingest features --categorical' writes)");
    }
  }
  return categories;
}

// The selected source columns without the --sample-weight column, which is never a feature:
// left out of "every feature", refused when --features names it.
std::vector<int> columns_without_weight(const CustomerSelection& selection,
                                        const io::CustomerTableSchema& schema,
                                        std::vector<int> columns) {
  const std::string& weight = selection.sample_weight;
  if (weight.empty()) return columns;
  if (weight == "id") {
    throw InputError("option --sample-weight: /customers/id holds the customer ids, not weights");
  }
  if (std::find(selection.features.begin(), selection.features.end(), weight) !=
      selection.features.end()) {
    throw InputError("option --sample-weight: column '" + weight +
                     "' is also named in --features; the weight column cannot be a feature");
  }
  columns.erase(std::remove_if(columns.begin(), columns.end(),
                               [&](int c) { return schema.feature_names[c] == weight; }),
                columns.end());
  if (columns.empty()) {
    throw InputError("option --sample-weight: input file '" + selection.input +
                     "' has no features besides the weight column '" + weight + "'");
  }
  return columns;
}

// The --sample-weight column of this rank's rows, with its digest (the input fingerprint's).
void read_sample_weights(const distributed::Communicator& comm, const InspectedInput& input,
                         CustomerBlock& block, std::string& digest) {
  const std::string& name = input.selection.sample_weight;
  if (name.empty()) return;
  comm.run_agreed([&] {
    try {
      block.weights = io::read_customer_column(input.schema, name, block.rows, comm.native());
    } catch (const InputError& e) {
      throw InputError(std::string("option --sample-weight: ") + e.what());
    }
  });
  CustomerBlock weights{block.rows, block.ids, FeatureMatrix(), {name}, {}};
  weights.features = Eigen::Map<const FeatureMatrix>(
      block.weights.data(), static_cast<Eigen::Index>(block.weights.size()), 1);
  digest = content_digest(comm, weights);
}

// Per feature, 1 where --log1p names it.
std::vector<char> log1p_flags(const CustomerSelection& selection,
                              const std::vector<std::string>& names) {
  std::vector<char> log1p(names.size(), 0);
  for (const auto& name : selection.log1p_features) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      const auto& one_hot = selection.transform.one_hot;
      throw InputError("option --log1p: feature '" + name +
                       "' is not among the features being segmented" +
                       (std::find(one_hot.begin(), one_hot.end(), name) != one_hot.end()
                            ? std::string(" (it is one-hot expanded)")
                            : std::string()));
    }
    log1p[static_cast<std::size_t>(it - names.begin())] = 1;
  }
  return log1p;
}

// The columns asked for beside the features, raw as read: from the block when they are among
// its source columns, else read in the same row range. One value per row read.
std::vector<std::vector<double>> extra_columns_of(const distributed::Communicator& comm,
                                                  const InspectedInput& input,
                                                  const CustomerBlock& block,
                                                  const std::vector<std::string>& names) {
  std::vector<std::string> unread;
  for (const auto& name : names) {
    if (std::find(block.feature_names.begin(), block.feature_names.end(), name) ==
            block.feature_names.end() &&
        std::find(unread.begin(), unread.end(), name) == unread.end()) {
      unread.push_back(name);
    }
  }
  CustomerBlock others;
  if (!unread.empty()) {
    comm.run_agreed([&] {
      others = io::read_customer_block(input.schema, io::select_features(input.schema, unread),
                                       block.rows, comm.native());
    });
  }
  std::vector<std::vector<double>> columns;
  for (const auto& name : names) {
    const bool in_block = std::find(block.feature_names.begin(), block.feature_names.end(), name) !=
                          block.feature_names.end();
    const CustomerBlock& holder = in_block ? block : others;
    const auto j = std::find(holder.feature_names.begin(), holder.feature_names.end(), name) -
                   holder.feature_names.begin();
    std::vector<double> values(static_cast<std::size_t>(holder.features.rows()));
    for (Eigen::Index i = 0; i < holder.features.rows(); ++i) values[i] = holder.features(i, j);
    columns.push_back(std::move(values));
  }
  return columns;
}

std::vector<double> kept_values(const std::vector<double>& values, const std::vector<char>& kept) {
  std::vector<double> out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (kept[i]) out.push_back(values[i]);
  }
  return out;
}

distributed::TransformSettings transform_settings(const InspectedInput& input) {
  distributed::TransformSettings settings;
  settings.scale = input.selection.scale;
  settings.log1p = input.log1p;
  settings.sample_weight = input.selection.sample_weight;
  const auto& clip = input.selection.transform.clip_quantiles;
  if (!clip.empty()) {
    settings.clip_low = clip[0];
    settings.clip_high = clip[1];
  }
  return settings;
}

}  // namespace

std::string describe(const TransformOptions& options) {
  std::ostringstream text;
  text << "missing = " << to_string(options.missing) << "\none-hot = " << joined(options.one_hot)
       << "\nclip-quantiles = ";
  if (!options.clip_quantiles.empty()) {
    text << options.clip_quantiles[0] << "," << options.clip_quantiles[1];
  }
  text << "\nweights = " << joined(options.weights) << "\n";
  return text.str();
}

void check_k_fits(std::int64_t k, std::int64_t customers, const std::string& input) {
  if (k <= customers) return;
  throw InputError("option --k: k = " + std::to_string(k) + " is larger than the " +
                   std::to_string(customers) + " customers in '" + input + "'");
}

InspectedInput inspect_customer_input(const distributed::Communicator& comm,
                                      const CustomerSelection& selection, std::int64_t largest_k) {
  distributed::mark_phase("read");
  InspectedInput inspected;
  inspected.selection = selection;
  inspected.largest_k = largest_k;
  comm.run_agreed([&] {
    inspected.schema = io::inspect_customer_table(selection.input, comm.native());
    inspected.columns = columns_without_weight(
        selection, inspected.schema, io::select_features(inspected.schema, selection.features));
    std::vector<std::string> sources;
    for (int c : inspected.columns) sources.push_back(inspected.schema.feature_names[c]);
    std::vector<std::vector<std::string>> categories = one_hot_categories(inspected, sources);
    inspected.plan =
        FeatureTransform::plan(selection.transform.missing, sources, std::move(categories));
    set_weights(inspected.plan, selection.transform.weights);
    inspected.feature_names = inspected.plan.names();
    inspected.log1p = log1p_flags(selection, inspected.feature_names);
    check_k_fits(largest_k, inspected.schema.rows, selection.input);
  });
  // External ids are read only when the outputs are written; a malformed dataset of them is
  // refused now, before the long read and fit (no rows: the checks alone).
  comm.run_agreed([&] { io::read_external_ids(inspected.schema, RowRange{}, comm.native()); });
  return inspected;
}

PreparedCustomers read_and_prepare(const distributed::Communicator& comm,
                                   const InspectedInput& input,
                                   const std::vector<std::string>& extra_columns) {
  Stopwatch stopwatch;
  distributed::mark_phase("read");
  const RowRange rows = distributed::block_of_rows(input.schema.rows, comm.rank(), comm.size());
  CustomerBlock block;
  comm.run_agreed(
      [&] { block = io::read_customer_block(input.schema, input.columns, rows, comm.native()); });
  distributed::check_unique_ids(comm, block.ids, input.selection.input);
  // The digest is of the rows as read, before any value is filled, clipped or dropped.
  const std::string digest = content_digest(comm, block);
  std::string weight_digest;
  read_sample_weights(comm, input, block, weight_digest);
  std::vector<std::vector<double>> extra = extra_columns_of(comm, input, block, extra_columns);
  const double seconds_read = stopwatch.lap();
  distributed::PreparedCustomers prepared = distributed::fit_and_apply_preparation(
      comm, block, input.plan, transform_settings(input), input.selection.input);
  for (auto& column : extra) column = kept_values(column, prepared.kept);
  PreparedCustomers customers{distributed::RankRows(comm, std::move(block)),
                              std::move(prepared.scaling),
                              std::move(prepared.features),
                              prepared.customers,
                              prepared.dropped,
                              std::move(prepared.kept),
                              digest,
                              weight_digest,
                              seconds_read,
                              stopwatch.lap(),
                              std::move(extra)};
  if (input.largest_k > customers.customers) {
    comm.agree("option --k: k = " + std::to_string(input.largest_k) + " is larger than the " +
               std::to_string(customers.customers) + " customers left in '" +
               input.selection.input + "' after dropping " + std::to_string(customers.dropped) +
               " with missing values");
  }
  return customers;
}

FeatureMatrix read_original_features(const distributed::Communicator& comm,
                                     const InspectedInput& input,
                                     const PreparedCustomers& prepared) {
  const RowRange rows = distributed::block_of_rows(input.schema.rows, comm.rank(), comm.size());
  CustomerBlock block;
  comm.run_agreed(
      [&] { block = io::read_customer_block(input.schema, input.columns, rows, comm.native()); });
  const std::string digest = content_digest(comm, block);
  if (digest != prepared.content_digest) {
    comm.agree("input file '" + input.selection.input +
               "' changed while the run was in progress (content digest " +
               prepared.content_digest + " when it was read, " + digest +
               " when it was read again for the profiles); nothing was written");
  }
  distributed::apply_fitted_sources(comm, block, prepared.features, prepared.kept);
  return std::move(block.features);
}

std::optional<ExternalIds> read_kept_external_ids(const distributed::Communicator& comm,
                                                  const io::CustomerTableSchema& schema,
                                                  const std::vector<char>& kept) {
  const RowRange rows = distributed::block_of_rows(schema.rows, comm.rank(), comm.size());
  std::optional<ExternalIds> ids;
  comm.run_agreed([&] { ids = io::read_external_ids(schema, rows, comm.native()); });
  if (ids && !kept.empty()) {
    std::size_t next = 0;
    for (std::size_t i = 0; i < ids->values.size(); ++i) {
      if (!kept[i]) continue;
      if (next != i) ids->values[next] = std::move(ids->values[i]);  // never onto itself
      ++next;
    }
    ids->values.resize(next);
  }
  return ids;
}

}  // namespace microseg::pipeline
