#include <boost/program_options/options_description.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "microseg/app/evaluate.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description evaluate_options() {
  boost::program_options::options_description options("microseg evaluate options");
  add_option(options, "run", "output directory of a microseg segment run", "required",
             "--run run-q2/");
  add_option(options, "outcomes",
             "the campaign's outcome table: CSV with a header row, or HDF5 (.h5) as ingest "
             "features writes it",
             "required", "--outcomes campaign.csv");
  add_option(options, "id-column", "column of the outcome table holding the customer id",
             "customer_id", "--id-column customer_id");
  add_option(options, "group-column", "column holding each customer's group", "group",
             "--group-column group");
  add_option(options, "treatment", "group value of treated customers", "treated",
             "--treatment treated");
  add_option(options, "control", "group value of control customers", "control",
             "--control control");
  add_option(options, "converted-column", "column holding 1 (converted) or 0", "converted",
             "--converted-column converted");
  add_option(options, "revenue-column", "column holding each customer's revenue (none: no revenue)",
             "none", "--revenue-column revenue");
  add_option(options, "cost-per-contact", "cost of contacting one treated customer", "0",
             "--cost-per-contact 0.4");
  add_option(options, "previous", "a previous run: report the retention of its segments", "none",
             "--previous run-q1/");
  add_option(options, "privacy-min-count",
             "in uplift.csv and the printed table, a segment (or the all row) whose treated or "
             "control group has fewer customers shows those counts as <N and no measure (a "
             "'suppressed' column says why); 0 or 1: suppress nothing (evaluation.h5 keeps every "
             "number)",
             "10", "--privacy-min-count 20");
  add_option(options, "output", "output directory (evaluation.h5, uplift.csv)", "required",
             "--output eval/");
  return options;
}

void print_result(const EvaluatePlan& plan, const pipeline::EvaluateResult& result,
                  std::ostream& log) {
  const pipeline::OutcomeProblems& p = result.problems;
  log << "microseg evaluate: " << with_thousands(p.rows) << " outcome rows from " << plan.outcomes
      << " joined to run " << plan.run << "\n";
  if (p.unmatched_ids > 0)
    log << with_thousands(p.unmatched_ids) << " outcome ids match no customer of the run\n";
  if (p.customers_without_outcome > 0)
    log << with_thousands(p.customers_without_outcome)
        << " customers of the run have no outcome row\n";
  if (p.other_group_rows > 0)
    log << with_thousands(p.other_group_rows) << " rows have a group that is neither '"
        << plan.treatment << "' nor '" << plan.control << "' (first: line "
        << p.first_other_group_line << ", '" << p.first_other_group_value << "')\n";
  log << "\nsegment  treated  control  uplift   95% interval          p-value   label\n";
  const PublicationRules& rules = result.publication;  // as uplift.csv
  auto row = [&](const std::string& name, const UpliftMeasure& m) {
    if (rules.hides(m.treated.customers) || rules.hides(m.control.customers)) {
      log << std::setw(7) << name << std::setw(9) << rules.count_text(m.treated.customers)
          << std::setw(9) << rules.count_text(m.control.customers) << "  suppressed ("
          << rules.reason() << ")\n";
      return;
    }
    log << std::setw(7) << name << std::setw(9) << m.treated.customers << std::setw(9)
        << m.control.customers << std::fixed << std::setprecision(4) << std::setw(8) << m.uplift
        << "  [" << std::setw(7) << m.uplift_interval.low << ", " << std::setw(7)
        << m.uplift_interval.high << "]  " << std::scientific << std::setprecision(2)
        << std::setw(9) << m.p_value << "  " << uplift_label_name(m.label) << "\n"
        << std::defaultfloat;
  };
  for (const auto& segment : result.segments)
    row(std::to_string(segment.segment_id), segment.measure);
  row("all", result.overall.measure);
  if (!result.retention.empty()) {
    log << "\nretention of " << plan.previous << "'s segments:\n";
    for (const auto& r : result.retention) {
      if (rules.hides(r.customers)) {  // a small previous segment: its size only, as "<N"
        log << std::setw(7) << r.segment_id << "  " << rules.count_text(r.customers)
            << " customers: suppressed\n";
        continue;
      }
      log << std::setw(7) << r.segment_id << std::setw(9) << r.retained << " of " << r.customers
          << " (" << std::fixed << std::setprecision(1) << 100 * r.share << "%)\n"
          << std::defaultfloat;
    }
  }
  log << "\noutputs:";
  for (const auto& output : result.outputs) log << " " << output;
  log << "\n";
}

}  // namespace

std::string evaluate_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg evaluate --run RUN_DIR --outcomes campaign.csv"
          " [--id-column C] [--group-column C] [--treatment V] [--control V]"
          " [--converted-column C] [--revenue-column C] [--cost-per-contact X]"
          " [--previous PREV_DIR] [--privacy-min-count N] --output DIR\n\n"
       << evaluate_options() << "\n"
       << common_options();
  return text.str();
}

EvaluatePlan parse_evaluate_options(const std::vector<std::string>& arguments) {
  const OptionReader options("evaluate", evaluate_options(), arguments);
  EvaluatePlan plan;
  plan.run = options.required("run");
  plan.outcomes = options.required("outcomes");
  plan.id_column = options.text("id-column", "customer_id");
  plan.group_column = options.text("group-column", "group");
  plan.treatment = options.text("treatment", "treated");
  plan.control = options.text("control", "control");
  if (plan.treatment == plan.control) {
    invalid_option_value("control", plan.control, "a group value other than --treatment's");
  }
  plan.converted_column = options.text("converted-column", "converted");
  plan.revenue_column = options.text("revenue-column", "none");
  if (plan.revenue_column == "none") plan.revenue_column.clear();
  plan.cost_per_contact = options.real("cost-per-contact", "0", 0.0);
  plan.previous = options.text("previous", "none");
  if (plan.previous == "none") plan.previous.clear();
  plan.publication.min_count = options.integer("privacy-min-count", "10", 0, std::int64_t{1} << 40);
  plan.output = options.required("output");
  plan.job_file = options.job_file();
  return plan;
}

void evaluate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments) {
  const EvaluatePlan plan =
      pipeline::plan_on_root<EvaluatePlan>(comm, [&] { return parse_evaluate_options(arguments); });
  const pipeline::EvaluateResult result = pipeline::evaluate(comm, plan);
  if (comm.is_root()) print_result(plan, result, std::cout);
}

}  // namespace microseg::app
