#include "microseg/app/option_reader.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "microseg/core/types.hpp"
#include "microseg/pipeline/plan.hpp"

namespace po = boost::program_options;

namespace microseg::app {

void invalid_option_value(const std::string& option, const std::string& value,
                          const std::string& expected) {
  throw InputError("option --" + option + ": invalid value '" + value + "' (expected " + expected +
                   ")");
}

std::string option_help(const std::string& what, const std::string& fallback,
                        const std::string& example) {
  const bool required = fallback.rfind("required", 0) == 0;
  return what + " (" + (required ? "" : "default: ") + fallback + "; e.g. " + example + ")";
}

void add_option(po::options_description& options, const char* name, const std::string& what,
                const std::string& fallback, const std::string& example) {
  options.add_options()(name, po::value<std::string>(),
                        option_help(what, fallback, example).c_str());
}

void add_switch(po::options_description& options, const char* name, const std::string& what,
                const std::string& example) {
  options.add_options()(name, po::value<std::string>()->implicit_value("true"),
                        option_help(what, "off", example).c_str());
}

po::options_description common_options() {
  po::options_description options("options of every command");
  options.add_options()  //
      ("config", po::value<std::string>(),
       option_help("INI job file of key = value lines, one per option; the command line wins",
                   "none", "--config jobs/demo.ini")
           .c_str())  //
      ("threads", po::value<std::string>(),
       option_help("OpenMP threads per rank", "1, or OMP_NUM_THREADS", "--threads 4").c_str())  //
      ("quiet", option_help("print only errors (stderr) and the final summary", "off", "--quiet")
                    .c_str())  //
      ("verbose",
       option_help("print every iteration and per-phase timings; by default progress lines come "
                   "at most every MICROSEG_PROGRESS_SECONDS seconds",
                   "off, 5 s", "--verbose")
           .c_str());
  add_stall_timeout_option(options);
  return options;
}

void add_stall_timeout_option(po::options_description& options) {
  add_option(options, "stall-timeout",
             "end the job (exit status 76) when a collective operation has made no progress for "
             "this many seconds: a rank or the network stopped answering; 0: wait forever",
             "300", "--stall-timeout 120");
}

OptionReader::OptionReader(const std::string& command, const po::options_description& options,
                           const std::vector<std::string>& arguments)
    : command_(command) {
  // --stall-timeout belongs to every command, on the command line and in a job file alike.
  po::options_description shared;
  if (options.find_nothrow("stall-timeout", false) == nullptr) add_stall_timeout_option(shared);
  po::options_description command_line;
  command_line.add_options()("config", po::value<std::string>(), "INI job file");
  command_line.add(options).add(shared);
  po::options_description job_file;
  job_file.add(options).add(shared);
  try {
    po::store(po::command_line_parser(arguments).options(command_line).run(), values_);
  } catch (const po::error& e) {
    throw InputError(command + ": " + e.what() + " (see 'microseg " + command + " --help')");
  }
  if (values_.count("config")) {
    const std::string path = values_["config"].as<std::string>();
    std::ifstream file(path);
    if (!std::filesystem::is_regular_file(path) || !file) {
      throw InputError("job file '" + path + "' does not exist or cannot be read");
    }
    try {
      // Stored after the command line: Boost keeps the first value, so the command line wins.
      po::store(po::parse_config_file(file, job_file, /*allow_unregistered=*/false), values_);
    } catch (const po::unknown_option& e) {
      throw InputError("job file '" + path + "': unknown key '" + e.get_option_name() + "'");
    } catch (const po::error& e) {
      throw InputError("job file '" + path + "': " + e.what());
    }
  }
  po::notify(values_);
  if (has("stall-timeout")) {
    pipeline::requested_stall_timeout() = integer("stall-timeout", "300", 0, 7 * 24 * 3600);
  }
}

std::string OptionReader::text(const std::string& key, const std::string& fallback) const {
  return has(key) ? values_[key].as<std::string>() : fallback;
}

std::vector<std::pair<std::string, std::string>> OptionReader::recorded(
    const std::vector<std::string>& path_keys) const {
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& [key, value] : values_) {
    if (key == "config" || key == "output") continue;
    std::string text = value.as<std::string>();
    const bool path = std::find(path_keys.begin(), path_keys.end(), key) != path_keys.end();
    if (path && !text.empty()) {
      std::error_code code;
      const std::filesystem::path absolute = std::filesystem::absolute(text, code);
      if (!code) text = absolute.lexically_normal().string();
    }
    given.emplace_back(key, text);
  }
  return given;
}

std::string OptionReader::required(const std::string& key) const {
  if (!has(key)) {
    throw InputError(command_ + ": option --" + key + " is required (see 'microseg " + command_ +
                     " --help')");
  }
  return values_[key].as<std::string>();
}

std::vector<std::string> OptionReader::list(const std::string& key) const {
  std::vector<std::string> items;
  std::stringstream stream(text(key));
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
  }
  return items;
}

std::int64_t OptionReader::integer(const std::string& key, const std::string& fallback,
                                   std::int64_t min, std::int64_t max) const {
  const std::string value = has(key) ? text(key) : fallback;
  const std::string expected =
      max == std::numeric_limits<std::int64_t>::max()
          ? "an integer >= " + std::to_string(min)
          : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  try {
    std::size_t used = 0;
    const long long parsed = std::stoll(value, &used);
    if (used != value.size() || parsed < min || parsed > max) {
      invalid_option_value(key, value, expected);
    }
    return parsed;
  } catch (const std::logic_error&) {
    invalid_option_value(key, value, expected);
  }
}

double OptionReader::real(const std::string& key, const std::string& fallback, double min) const {
  const std::string value = has(key) ? text(key) : fallback;
  std::ostringstream expected;
  expected << "a number >= " << min;
  try {
    std::size_t used = 0;
    const double parsed = std::stod(value, &used);
    if (used != value.size() || !std::isfinite(parsed) || parsed < min) {
      invalid_option_value(key, value, expected.str());
    }
    return parsed;
  } catch (const std::logic_error&) {
    invalid_option_value(key, value, expected.str());
  }
}

std::uint64_t OptionReader::seed(const std::string& key, const std::string& fallback) const {
  return static_cast<std::uint64_t>(
      integer(key, fallback, 0, std::numeric_limits<std::int64_t>::max()));
}

bool switch_value(const OptionReader& options, const std::string& key) {
  const std::string text = options.text(key, "false");
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  invalid_option_value(key, text, "true or false");
}

std::string assignments_csv_help() {
  return "also write DIR/assignments.csv, one row per customer: id, external_id (when the input "
         "has /customers/external_id), segment, macro_segment (two-level), distance, margin; "
         "written in parallel, about 54 MB per million customers (plus the keys)";
}

void add_publication_options(boost::program_options::options_description& options) {
  add_option(options, "privacy-min-count",
             "in the shared CSV files and printed tables, a segment or migration cell of fewer "
             "customers has its statistics left blank (a 'suppressed' column says why) and its "
             "count shown as <N; 0 or 1: suppress nothing (segments.h5 keeps every number)",
             "10", "--privacy-min-count 20");
  add_option(options, "pseudonymise-ids",
             "a private key file (raw bytes, not readable by others): the per-customer CSV files "
             "carry HMAC-SHA-256(key, id) in hex instead of the customer id",
             "none: ids as they are", "--pseudonymise-ids /secure/microseg.key");
}

pipeline::PublicationOptions parse_publication_options(const OptionReader& options) {
  pipeline::PublicationOptions parsed;
  parsed.min_count = options.integer("privacy-min-count", "10", 0, std::int64_t{1} << 40);
  parsed.key_file = options.text("pseudonymise-ids");
  if (options.has("pseudonymise-ids") && parsed.key_file.empty()) {
    invalid_option_value("pseudonymise-ids", "", "the path of a key file");
  }
  return parsed;
}

void add_transform_options(boost::program_options::options_description& options) {
  add_option(options, "missing", "missing values (NaN): reject | mean | median | drop", "reject",
             "--missing median");
  add_option(options, "one-hot",
             "categorical code columns to expand into one 0/1 column per category", "none",
             "--one-hot region,channel");
  add_option(options, "clip-quantiles", "clip every numeric feature at these two quantiles", "none",
             "--clip-quantiles 0.01,0.99");
  add_option(options, "weights",
             "per-feature weights multiplying the scaled columns: a weight w counts w² in squared "
             "distances (monetary=2 makes monetary count 4 times, not twice)",
             "1 for every feature", "--weights monetary=2,age=0.5");
}

pipeline::TransformOptions parse_transform_options(const OptionReader& options) {
  pipeline::TransformOptions parsed;
  const std::string missing = options.text("missing", "reject");
  try {
    parsed.missing = parse_missing_policy(missing);
  } catch (const InputError&) {
    invalid_option_value("missing", missing, "reject, mean, median or drop");
  }
  parsed.one_hot = options.list("one-hot");
  parsed.weights = options.list("weights");
  if (!options.has("clip-quantiles")) return parsed;
  const std::string text = options.text("clip-quantiles");
  for (const auto& level : options.list("clip-quantiles")) {
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
    invalid_option_value("clip-quantiles", text, "two levels low < high in [0, 1], e.g. 0.01,0.99");
  }
  return parsed;
}

}  // namespace microseg::app
