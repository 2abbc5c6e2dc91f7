// `microseg evaluate`: the outcome table read in blocks of lines, its problems agreed.
#include "evaluate_outcomes.hpp"

#include <cmath>
#include <limits>
#include <set>

#include "ingest_scan.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/distributed/id_partition.hpp"
#include "microseg/io/campaign_file.hpp"
#include "microseg/io/csv_outcomes.hpp"

namespace microseg::pipeline::detail {
namespace {

using distributed::Communicator;

struct OutcomeInput {
  CsvInput csv;
  io::OutcomeScanSpec spec;
};

// Collective: the file mapped and its columns resolved, identically on every rank.
OutcomeInput open_outcomes(const Communicator& comm, const EvaluatePlan& plan) {
  OutcomeInput input;
  comm.run_agreed([&] {
    input.csv = open_csv(plan.outcomes, ",", true);
    const io::CsvHead& head = input.csv.head;
    io::OutcomeScanSpec& spec = input.spec;
    const auto column = [&](const std::string& option, const std::string& name) {
      return io::resolve_csv_column(head, true, option, name, plan.outcomes);
    };
    spec.columns.id = column("id-column", plan.id_column);
    spec.columns.group = column("group-column", plan.group_column);
    spec.columns.converted = column("converted-column", plan.converted_column);
    if (!plan.revenue_column.empty())
      spec.columns.revenue = column("revenue-column", plan.revenue_column);
    const std::vector<int> used{spec.columns.id, spec.columns.group, spec.columns.converted,
                                spec.columns.revenue};
    std::set<int> distinct;
    for (int c : used) {
      if (c >= 0 && !distinct.insert(c).second) {
        throw InputError(in_file(plan.outcomes) + ": column '" + head.fields[c] +
                         "' is named by two of --id-column, --group-column, --converted-column "
                         "and --revenue-column");
      }
    }
    spec.delimiter = input.csv.delimiter;
    spec.data_begin = head.end;
    spec.field_count = head.fields.size();
    spec.column_labels = io::csv_column_labels(head.fields, head.fields.size(), true);
    spec.treatment = plan.treatment;
    spec.control = plan.control;
  });
  return input;
}

// Collective: the first row whose group is neither value, as a file line and its value.
void agree_on_first_other_group(const Communicator& comm, const io::OutcomeScan& scan,
                                std::int64_t first_line, OutcomeProblems& problems) {
  const std::int64_t none = std::numeric_limits<std::int64_t>::max();
  const std::int64_t here =
      scan.first_other_group_line_index < 0 ? none : first_line + scan.first_other_group_line_index;
  const std::vector<std::int64_t> lines = comm.all_gather(std::vector<std::int64_t>{here});
  int holder = -1;
  for (std::size_t r = 0; r < lines.size(); ++r) {
    if (lines[r] != none && (holder < 0 || lines[r] < lines[holder])) holder = static_cast<int>(r);
  }
  if (holder < 0) return;
  problems.first_other_group_line = lines[holder];
  problems.first_other_group_value = scan.first_other_group_value;
  comm.broadcast(problems.first_other_group_value, holder);
}

// Collective: the ids as int64 (integers, or every key mapped), each appearing once.
std::vector<std::int64_t> outcome_ids(const Communicator& comm, const io::OutcomeScan& scan,
                                      std::int64_t first_line, const std::string& path,
                                      const std::string& unit) {
  const auto rows = static_cast<std::size_t>(scan.rows);
  const bool integer_ids =
      keys_are_integers_on_every_rank(comm, rows, [&](std::size_t i) { return scan.id(i); });
  std::vector<std::int64_t> ids(rows), lines(rows);
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < rows; ++i) {
    ids[i] = integer_ids ? *io::parse_int64(scan.id(i)) : io::mapped_customer_id(scan.id(i));
    if (!integer_ids) keys.emplace_back(scan.id(i));
    lines[i] = first_line + scan.row_line_index[i];
  }
  const distributed::IdsToCheck check{ids, &lines, integer_ids ? nullptr : &keys};
  if (const auto duplicate = distributed::find_duplicate_ids(comm, check)) {
    const std::string who = integer_ids ? "customer id " + std::to_string(duplicate->id)
                                        : "customer '" + duplicate->first_key + "'";
    comm.agree(in_file(path) + ": " + who + " appears on " + unit + "s " +
               std::to_string(duplicate->first_line) + " and " +
               std::to_string(duplicate->second_line) + " (" +
               with_thousands(duplicate->duplicated_ids) +
               " ids appear more than once); an outcome table holds each customer once");
  }
  return ids;
}

bool is_hdf5(const std::string& path) {
  for (const std::string tail : {".h5", ".hdf5"}) {
    if (path.size() >= tail.size() &&
        path.compare(path.size() - tail.size(), tail.size(), tail) == 0)
      return true;
  }
  return false;
}

// Collective: an HDF5 outcome table's block as a scan of its rows (row numbers for lines), the
// first bad value stopping it as a malformed CSV row does.
io::OutcomeScan scan_hdf5_outcomes(const Communicator& comm, const EvaluatePlan& plan) {
  io::OutcomeBlock block;
  comm.run_agreed([&] {
    block = io::read_outcome_block(plan.outcomes,
                                   {plan.group_column, plan.converted_column, plan.revenue_column},
                                   comm.native());
  });
  io::OutcomeScan scan;
  scan.lines = block.rows.size();
  const auto bad = [&](std::size_t row, const std::string& column, double value,
                       const std::string& expected) {
    scan.bad_row =
        io::BadRow{static_cast<std::int64_t>(row),
                   "/customers/" + column + ": " + round_trip_text(value) + " is " + expected};
  };
  for (std::size_t i = 0; i < block.ids.size(); ++i) {
    const double code = block.group_codes[i];
    const double converted = block.converted[i];
    if (converted != 0 && converted != 1) {
      bad(i, plan.converted_column, converted, "not 0 or 1 (converted or not)");
      break;
    }
    if (!block.revenue.empty() && !std::isfinite(block.revenue[i])) {
      bad(i, plan.revenue_column, block.revenue[i], "not a finite number (revenue)");
      break;
    }
    if (!std::isnan(code) && !(code >= 0 && code < static_cast<double>(block.group_names.size()))) {
      bad(i, plan.group_column, code, "not a code of /categories/" + plan.group_column);
      break;
    }
    const std::string group =
        std::isnan(code) ? std::string() : block.group_names[static_cast<std::size_t>(code)];
    std::int8_t arm = io::outcome_arm_other;
    if (group == plan.treatment) {
      arm = 0;
    } else if (group == plan.control) {
      arm = 1;
    } else if (scan.other_group_rows++ == 0) {
      scan.first_other_group_line_index = static_cast<std::int64_t>(i);
      scan.first_other_group_value = group;
    }
    ++scan.rows;
    scan.id_bytes += std::to_string(block.ids[i]);
    scan.id_offsets.push_back(scan.id_bytes.size());
    scan.row_line_index.push_back(static_cast<std::int64_t>(i));
    scan.arm.push_back(arm);
    scan.converted.push_back(static_cast<std::int8_t>(converted));
    if (!block.revenue.empty()) scan.revenue.push_back(block.revenue[i]);
  }
  return scan;
}

// Collective: this rank's part of a CSV outcome table, scanned.
io::OutcomeScan scan_csv_outcomes(const Communicator& comm, const EvaluatePlan& plan) {
  const OutcomeInput input = open_outcomes(comm, plan);
  const std::string_view text = input.csv.file->text();
  const io::ByteRange part = io::line_aligned_part(text, comm.rank(), comm.size());
  input.csv.file->will_read(part);
  return io::scan_outcomes(text, part, input.spec);
}

}  // namespace

OutcomeTable read_outcome_table(const Communicator& comm, const EvaluatePlan& plan) {
  const bool hdf5 = is_hdf5(plan.outcomes);
  const std::string unit = hdf5 ? "row" : "line";
  const io::OutcomeScan scan =
      hdf5 ? scan_hdf5_outcomes(comm, plan) : scan_csv_outcomes(comm, plan);
  const std::int64_t first_line = 1 + comm.exclusive_prefix_sum(scan.lines);
  // Ranks hold consecutive parts, so the lowest rank with a bad row holds the file's first.
  std::optional<std::string> bad;
  if (scan.bad_row) {
    const bool names_column = scan.bad_row->what.rfind("column ", 0) == 0 ||
                              scan.bad_row->what.rfind("/customers/", 0) == 0;
    bad = in_file(plan.outcomes) + " " + unit + " " +
          std::to_string(first_line + scan.bad_row->line_index) + (names_column ? ", " : ": ") +
          scan.bad_row->what;
  }
  comm.agree(bad);

  OutcomeTable table;
  std::int64_t treated = 0, control = 0;
  for (std::int8_t arm : scan.arm) {
    treated += arm == 0;
    control += arm == 1;
  }
  std::vector<std::int64_t> totals{scan.rows, scan.other_group_rows, treated, control};
  comm.sum_in_place(totals);
  table.problems.rows = totals[0];
  table.problems.other_group_rows = totals[1];
  table.treated_rows = totals[2];
  table.control_rows = totals[3];
  if (table.problems.rows == 0) {
    comm.agree("outcome table " + in_file(plan.outcomes) +
               (hdf5 ? " has no rows" : " has no data rows after its header"));
  }
  for (const auto& [rows, value, option] :
       {std::tuple{table.treated_rows, plan.treatment, "--treatment"},
        std::tuple{table.control_rows, plan.control, "--control"}}) {
    if (rows == 0) {
      comm.agree(in_file(plan.outcomes) + ": the " +
                 (std::string(option) == "--treatment" ? "treatment" : "control") +
                 " group is empty: no row has '" + value + "' in column '" + plan.group_column +
                 "' (" + option + ")");
    }
  }
  agree_on_first_other_group(comm, scan, first_line, table.problems);
  table.ids = outcome_ids(comm, scan, first_line, plan.outcomes, unit);
  const std::int64_t begin = comm.exclusive_prefix_sum(scan.rows);
  table.rows = {begin, begin + scan.rows};
  for (std::int8_t arm : scan.arm) table.arms.push_back(static_cast<distributed::CampaignArm>(arm));
  table.converted = scan.converted;
  table.revenue = scan.revenue;
  return table;
}

}  // namespace microseg::pipeline::detail
