#include "microseg/io/evaluation_file.hpp"

#include <filesystem>
#include <functional>
#include <optional>

#include "microseg/core/number_text.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {

using detail::OutputFile;
using detail::OutputGroup;
using detail::PendingFile;
using detail::PendingOutputs;
using detail::TextOutput;

// One column of the per-segment table: its name and its value in a measure.
struct MeasureColumn {
  const char* name;
  std::function<double(const UpliftMeasure&)> value;
};

const std::vector<MeasureColumn>& measure_columns() {
  using M = UpliftMeasure;
  static const std::vector<MeasureColumn> columns{
      {"treated_rate", [](const M& m) { return m.treated_rate; }},
      {"control_rate", [](const M& m) { return m.control_rate; }},
      {"uplift", [](const M& m) { return m.uplift; }},
      {"uplift_low", [](const M& m) { return m.uplift_interval.low; }},
      {"uplift_high", [](const M& m) { return m.uplift_interval.high; }},
      {"p_value", [](const M& m) { return m.p_value; }},
      {"treated_revenue", [](const M& m) { return m.treated.revenue; }},
      {"control_revenue", [](const M& m) { return m.control.revenue; }},
      {"treated_revenue_per_customer", [](const M& m) { return m.treated_revenue_per_customer; }},
      {"control_revenue_per_customer", [](const M& m) { return m.control_revenue_per_customer; }},
      {"incremental_revenue", [](const M& m) { return m.incremental_revenue; }},
      {"cost", [](const M& m) { return m.cost; }},
      {"roi", [](const M& m) { return m.roi; }},
  };
  return columns;
}

// The counts of a measure, in the order of count_names().
std::vector<std::int64_t> counts_of(const UpliftMeasure& m) {
  return {m.treated.customers, m.control.customers, m.treated.conversions, m.control.conversions};
}
const std::vector<std::string>& count_names() {
  static const std::vector<std::string> names{"treated_customers", "control_customers",
                                              "treated_conversions", "control_conversions"};
  return names;
}

// A group of per-segment datasets: one element per measure.
void write_measures(const OutputGroup& group, const std::vector<std::int64_t>& segment_ids,
                    const std::vector<UpliftMeasure>& measures) {
  group.write("segment_id", segment_ids);
  for (std::size_t c = 0; c < count_names().size(); ++c) {
    std::vector<std::int64_t> values;
    for (const auto& m : measures) values.push_back(counts_of(m)[c]);
    group.write(count_names()[c], values);
  }
  for (const MeasureColumn& column : measure_columns()) {
    std::vector<double> values;
    for (const auto& m : measures) values.push_back(column.value(m));
    group.write(column.name, values);
  }
  std::vector<std::string> labels;
  for (const auto& m : measures) labels.push_back(uplift_label_name(m.label));
  group.write_strings("label", labels);
}

void write_hdf5(OutputFile& file, const EvaluationRecord& record) {
  OutputGroup root = file.root();
  write_measures(root.create_group("segments"), record.segment_ids, record.segments);
  write_measures(root.create_group("overall"), {-1}, {record.overall});
  if (!record.retention.segment_ids.empty()) {
    const OutputGroup retention = root.create_group("retention");
    retention.write("segment_id", record.retention.segment_ids);
    retention.write("customers", record.retention.customers);
    retention.write("retained", record.retention.retained);
    retention.write("share", record.retention.share);
  }
  root.create_group("run").attributes(record.run);
}

// True when a row of uplift.csv must not describe its customers: an arm of 1..N-1.
bool row_hidden(const PublicationRules& rules, const UpliftMeasure& m) {
  return rules.hides(m.treated.customers) || rules.hides(m.control.customers);
}

// A suppressed row: arm sizes as published ("<N" when small), conversions, measures and the
// label blank, and the reason.
void write_suppressed_row(std::ostream& out, const std::string& segment, const UpliftMeasure& m,
                          const PublicationRules& rules) {
  out << segment << ',' << rules.count_text(m.treated.customers) << ','
      << rules.count_text(m.control.customers) << ",,";
  for (std::size_t c = 0; c < measure_columns().size(); ++c) out << ',';
  out << ",suppressed," << rules.reason() << '\n';
}

void write_csv_row(std::ostream& out, const std::string& segment, const UpliftMeasure& m,
                   const PublicationRules& rules) {
  if (row_hidden(rules, m)) {
    write_suppressed_row(out, segment, m, rules);
    return;
  }
  out << segment;
  for (std::int64_t count : counts_of(m)) out << ',' << count;
  for (const MeasureColumn& column : measure_columns()) {
    out << ',' << round_trip_text(column.value(m));
  }
  out << ',' << uplift_label_name(m.label) << ",\n";  // empty `suppressed`: shown
}

void write_csv(const PendingOutputs& pending, const PendingFile& file,
               const EvaluationRecord& record) {
  TextOutput text(pending, file);
  std::ostream& out = text.out();
  out << "segment";
  for (const auto& name : count_names()) out << ',' << name;
  for (const MeasureColumn& column : measure_columns()) out << ',' << column.name;
  out << ",label,suppressed\n";
  for (std::size_t s = 0; s < record.segments.size(); ++s) {
    write_csv_row(out, std::to_string(record.segment_ids[s]), record.segments[s],
                  record.publication);
  }
  write_csv_row(out, "all", record.overall, record.publication);
  text.close();
}

}  // namespace

std::vector<std::string> write_evaluation(const std::string& directory, MPI_Comm comm,
                                          const EvaluationRecord& record) {
  detail::SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const std::string h5 = (std::filesystem::path(directory) / "evaluation.h5").string();
  const std::string csv = (std::filesystem::path(directory) / "uplift.csv").string();
  std::optional<std::string> problem = detail::output_location_problem(h5);
  if (!problem) problem = detail::output_location_problem(csv);
  communicator.agree(problem);

  PendingOutputs pending(communicator);
  const PendingFile h5_file{h5, pending.add(h5)};
  const PendingFile csv_file{csv, pending.add(csv)};
  std::optional<std::string> error;
  {
    OutputFile file(pending, h5_file.temporary, h5);
    write_hdf5(file, record);
    error = file.finish();
  }
  if (communicator.is_root() && !error) {
    try {
      write_csv(pending, csv_file, record);
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  pending.commit(error);
  return {h5, csv};
}

}  // namespace microseg::io
