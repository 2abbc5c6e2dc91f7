#include "microseg/io/forecast_file.hpp"

#include <cmath>
#include <filesystem>
#include <optional>

#include "microseg/core/number_text.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

// Eigen holds matrices column-major; the files hold them row-major.
std::vector<double> row_major(const Eigen::MatrixXd& matrix) {
  std::vector<double> values(static_cast<std::size_t>(matrix.size()));
  for (Eigen::Index r = 0; r < matrix.rows(); ++r) {
    for (Eigen::Index c = 0; c < matrix.cols(); ++c) {
      values[static_cast<std::size_t>(r * matrix.cols() + c)] = matrix(r, c);
    }
  }
  return values;
}

void write_matrix(const OutputGroup& group, const std::string& name,
                  const Eigen::MatrixXd& matrix) {
  const std::vector<double> values = row_major(matrix);
  group.write(name, values.data(),
              {static_cast<hsize_t>(matrix.rows()), static_cast<hsize_t>(matrix.cols())});
}

void write_vector(const OutputGroup& group, const std::string& name,
                  const Eigen::VectorXd& vector) {
  group.write(name, std::vector<double>(vector.data(), vector.data() + vector.size()));
}

void write_transition_group(const OutputGroup& root, const ForecastContent& content) {
  const TransitionModel& model = *content.model;
  const OutputGroup group = root.create_group("transition");
  group.write("segment_ids", model.segment_ids);
  write_matrix(group, "counts", model.counts);
  write_matrix(group, "probabilities", model.probabilities);
  group.write("has_history", model.has_history);
  write_vector(group, "inflow_counts", model.inflow_counts);
  write_vector(group, "inflow_share", model.inflow_share);
  group.write("inflow_per_link", model.inflow_per_link);
  group.attribute("inflow_mean", model.inflow_mean);
  group.attribute("links", static_cast<std::int64_t>(model.links));
  group.attribute("left_out_customers", model.left_out);
}

void write_chain_group(const OutputGroup& root, const ForecastContent& content) {
  const AbsorbingChain& chain = *content.chain;
  const OutputGroup group = root.create_group("chain");
  write_matrix(group, "fundamental", chain.fundamental);
  write_vector(group, "expected_quarters", chain.expected_quarters);
  write_matrix(group, "loss_within", chain.loss_within);
  group.attribute("loss_quarters",
                  std::vector<std::int64_t>{loss_quarters[0], loss_quarters[1], loss_quarters[2]});
  write_vector(group, "value_per_quarter", content.value_per_quarter);
  write_vector(group, "lifetime_value", chain.lifetime_value);
  write_vector(group, "churn_ordinary", content.churn->ordinary);
  write_vector(group, "churn_moved_down", content.churn->moved_down);
}

void write_forecast_group(const OutputGroup& root, const ForecastContent& content) {
  const SizeForecast& sizes = *content.sizes;
  const OutputGroup group = root.create_group("forecast");
  write_vector(group, "size_now", content.sizes_now);
  write_matrix(group, "expected_size", sizes.expected);
  write_matrix(group, "size_low", sizes.low);
  write_matrix(group, "size_high", sizes.high);
  const Eigen::RowVectorXd value = content.value_per_quarter.transpose();
  write_matrix(group, "expected_value", sizes.expected.array().rowwise() * value.array());
  write_matrix(group, "value_low", sizes.low.array().rowwise() * value.array());
  write_matrix(group, "value_high", sizes.high.array().rowwise() * value.array());
  write_vector(group, "expected_total", sizes.expected_total);
  write_vector(group, "total_low", sizes.low_total);
  write_vector(group, "total_high", sizes.high_total);
}

void write_history_group(const OutputGroup& root, const ForecastContent& content) {
  const OutputGroup group = root.create_group("history");
  group.write_strings("runs", content.runs);
  write_matrix(group, "sizes", content.history);
}

void write_customers_group(const OutputGroup& root, const ForecastCustomers& customers) {
  const OutputGroup group = root.create_group("customers");
  const RowBlock rows{customers.rows.begin, customers.rows.size(),
                      static_cast<hsize_t>(customers.total_rows)};
  group.write_rows("id", rows, customers.ids->data());
  group.write_rows("segment", rows, customers.segments->data());
  group.write_rows("churn_probability", rows, customers.churn_probability->data());
  group.write_rows("moved_down", rows, customers.moved_down->data());
}

std::optional<std::string> write_forecast_h5(const PendingOutputs& pending,
                                             const PendingFile& target,
                                             const ForecastContent& content) {
  OutputFile file(pending, target.temporary, target.final_path);
  {
    const OutputGroup root = file.root();
    write_transition_group(root, content);
    write_chain_group(root, content);
    write_forecast_group(root, content);
    write_history_group(root, content);
    write_customers_group(root, content.customers);
    root.create_group("run").attributes(content.run);
  }
  return file.finish();
}

void write_segments_csv(const PendingOutputs& pending, const PendingFile& target,
                        const ForecastContent& content) {
  const SizeForecast& sizes = *content.sizes;
  const AbsorbingChain& chain = *content.chain;
  TextOutput text(pending, target);
  std::ostream& out = text.out();
  out << "segment,size_now";
  for (Eigen::Index t = 1; t <= sizes.expected.rows(); ++t) {
    out << ",expected_size_q" << t << ",size_low_q" << t << ",size_high_q" << t
        << ",expected_value_q" << t << ",value_low_q" << t << ",value_high_q" << t;
  }
  out << ",loss_within_1,loss_within_2,loss_within_4,expected_quarters_to_loss,value_per_quarter,"
         "lifetime_value,churn_ordinary,churn_moved_down,has_history,suppressed\n";
  const PublicationRules& rules = content.publication;
  for (Eigen::Index s = 0; s < content.sizes_now.size(); ++s) {
    const double value = content.value_per_quarter(s);
    out << content.model->segment_ids[static_cast<std::size_t>(s)] << ',';
    const auto size_now = static_cast<std::int64_t>(std::llround(content.sizes_now(s)));
    if (rules.hides(size_now)) {  // a forecast of a few customers' fate describes them
      out << rules.count_text(size_now) << std::string(6 * sizes.expected.rows() + 8, ',') << ','
          << static_cast<int>(content.model->has_history[static_cast<std::size_t>(s)]) << ','
          << rules.reason() << '\n';
      continue;
    }
    out << round_trip_text(content.sizes_now(s));
    for (Eigen::Index t = 0; t < sizes.expected.rows(); ++t) {
      for (double number :
           {sizes.expected(t, s), sizes.low(t, s), sizes.high(t, s), sizes.expected(t, s) * value,
            sizes.low(t, s) * value, sizes.high(t, s) * value}) {
        out << ',' << round_trip_text(number);
      }
    }
    for (double number : {chain.loss_within(s, 0), chain.loss_within(s, 1), chain.loss_within(s, 2),
                          chain.expected_quarters(s), value, chain.lifetime_value(s),
                          content.churn->ordinary(s), content.churn->moved_down(s)}) {
      out << ',' << round_trip_text(number);
    }
    out << ',' << static_cast<int>(content.model->has_history[static_cast<std::size_t>(s)])
        << ",\n";
  }
  text.close();
}

void write_top_csv(const PendingOutputs& pending, const PendingFile& target,
                   const std::vector<distributed::RankedCustomer>& top,
                   const PublicationRules& rules) {
  TextOutput text(pending, target);
  std::ostream& out = text.out();
  out << "rank," << (rules.pseudonymising() ? "pseudonym" : "id")
      << ",segment,churn_probability,moved_down\n";
  for (std::size_t r = 0; r < top.size(); ++r) {
    out << r + 1 << ',' << rules.exported_id(top[r].id) << ',' << top[r].segment << ','
        << round_trip_text(top[r].score) << ',' << top[r].flag << '\n';
  }
  text.close();
}

}  // namespace

std::vector<std::string> forecast_files(const std::string& directory) {
  const fs::path dir(directory);
  return {(dir / "forecast.h5").string(), (dir / "segments_forecast.csv").string(),
          (dir / "at_risk_forecast.csv").string()};
}

void write_forecast(const std::string& directory, MPI_Comm comm, const ForecastContent& content) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const std::vector<std::string> paths = forecast_files(directory);
  std::optional<std::string> problem;
  for (const auto& path : paths) {
    if (!problem) problem = output_location_problem(path);
  }
  communicator.agree(problem);
  PendingOutputs pending(communicator);
  const PendingFile segments_csv{paths[1], pending.add(paths[1])};
  const PendingFile top_csv{paths[2], pending.add(paths[2])};
  const PendingFile h5{paths[0], pending.add(paths[0])};
  std::optional<std::string> error = write_forecast_h5(pending, h5, content);
  if (communicator.is_root() && !error) {
    try {
      write_segments_csv(pending, segments_csv, content);
      write_top_csv(pending, top_csv, content.top, content.publication);
    } catch (const std::exception& e) {
      error = std::string(e.what());
    }
  }
  pending.commit(error);
}

}  // namespace microseg::io
