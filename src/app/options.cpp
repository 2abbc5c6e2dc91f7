#include "microseg/app/options.hpp"

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "microseg/core/types.hpp"

namespace po = boost::program_options;

namespace microseg::app {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
  }
  return items;
}

[[noreturn]] void bad_value(const std::string& option, const std::string& value,
                            const std::string& expected) {
  throw InputError("option --" + option + ": invalid value '" + value + "' (expected " + expected +
                   ")");
}

std::int64_t parse_integer(const std::string& option, const std::string& text, std::int64_t min,
                           std::int64_t max, const std::string& expected) {
  try {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size() || value < min || value > max) bad_value(option, text, expected);
    return value;
  } catch (const std::logic_error&) {
    bad_value(option, text, expected);
  }
}

double parse_real(const std::string& option, const std::string& text, double min,
                  const std::string& expected) {
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(value) || value < min) {
      bad_value(option, text, expected);
    }
    return value;
  } catch (const std::logic_error&) {
    bad_value(option, text, expected);
  }
}

std::uint64_t parse_seed(const std::string& text) {
  return static_cast<std::uint64_t>(parse_integer(
      "seed", text, 0, std::numeric_limits<std::int64_t>::max(), "a non-negative integer"));
}

// Options are read as strings and converted here, so every message names the option and the
// offending value the same way whether it came from the command line or a job file.
po::variables_map parse_with_job_file(const std::vector<std::string>& arguments,
                                      const po::options_description& options,
                                      const std::string& command) {
  po::options_description command_line;
  command_line.add_options()("config", po::value<std::string>(), "INI job file");
  command_line.add(options);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(arguments).options(command_line).run(), values);
  } catch (const po::error& e) {
    throw InputError(command + ": " + e.what() + " (see 'microseg " + command + " --help')");
  }
  if (values.count("config")) {
    const std::string path = values["config"].as<std::string>();
    std::ifstream file(path);
    if (!std::filesystem::is_regular_file(path) || !file) {
      throw InputError("job file '" + path + "' does not exist or cannot be read");
    }
    try {
      // Stored after the command line: Boost keeps the first value, so the command line wins.
      po::store(po::parse_config_file(file, options, /*allow_unregistered=*/false), values);
    } catch (const po::unknown_option& e) {
      throw InputError("job file '" + path + "': unknown key '" + e.get_option_name() + "'");
    } catch (const po::error& e) {
      throw InputError("job file '" + path + "': " + e.what());
    }
  }
  po::notify(values);
  return values;
}

std::string text_of(const po::variables_map& values, const std::string& key,
                    const std::string& fallback = "") {
  return values.count(key) ? values[key].as<std::string>() : fallback;
}

std::string required(const po::variables_map& values, const std::string& key,
                     const std::string& command) {
  if (!values.count(key)) {
    throw InputError(command + ": option --" + key + " is required (see 'microseg " + command +
                     " --help')");
  }
  return values[key].as<std::string>();
}

po::options_description generate_options() {
  po::options_description options("microseg generate options");
  options.add_options()                                                                 //
      ("customers", po::value<std::string>(), "number of customers to generate")        //
      ("segments", po::value<std::string>(), "number of planted segments (default 8)")  //
      ("separation", po::value<std::string>(),
       "distance between planted segment centres in within-segment σ (default 3)")  //
      ("seed", po::value<std::string>(), "random seed (default 1)")                 //
      ("output", po::value<std::string>(), "output HDF5 file");
  return options;
}

po::options_description segment_options() {
  po::options_description options("microseg segment options");
  options.add_options()                                                                        //
      ("input", po::value<std::string>(), "customer HDF5 file")                                //
      ("output", po::value<std::string>(), "output directory")                                 //
      ("k", po::value<std::string>(), "number of segments")                                    //
      ("features", po::value<std::string>(), "comma-separated feature names (default: all)")   //
      ("scale", po::value<std::string>(), "zscore | minmax | none (default zscore)")           //
      ("log1p", po::value<std::string>(), "comma-separated features to log1p before scaling")  //
      ("init", po::value<std::string>(),
       "kmeans-parallel | kmeans++ | file (default kmeans-parallel)")  //
      ("init-centroids", po::value<std::string>(),
       "HDF5 file with /centroids (k × d, scaled space)")                               //
      ("max-iter", po::value<std::string>(), "maximum Lloyd iterations (default 300)")  //
      ("tol", po::value<std::string>(),
       "relative tolerance on the centroid shift (default 1e-4)")    //
      ("seed", po::value<std::string>(), "random seed (default 0)")  //
      ("silhouette-sample", po::value<std::string>(),
       "customers in the exact silhouette sample (default 10000)");
  return options;
}

}  // namespace

std::string usage(const std::string& command) {
  std::ostringstream text;
  if (command == "generate") {
    text << "usage: mpiexec -n P microseg generate --customers N [--segments S] [--separation X]"
            " [--seed SEED] --output customers.h5\n\n"
         << generate_options();
  } else if (command == "segment") {
    text << "usage: mpiexec -n P microseg segment --input customers.h5 --k K --output DIR"
            " [--config job.ini] [options]\n\n"
         << segment_options() << "  --config arg              INI job file (key = value; the"
         << " command line wins)\n";
  } else {
    text << "microseg " << MICROSEG_VERSION
         << ": customer micro-segmentation on MPI clusters\n\n"
            "usage: mpiexec -n P microseg <command> [options]\n\n"
            "commands:\n"
            "  generate   write a synthetic customer base with planted segments\n"
            "  segment    segment customers with distributed k-means\n\n"
            "'microseg <command> --help' lists a command's options.\n";
  }
  return text.str();
}

GenerateConfig parse_generate_options(const std::vector<std::string>& arguments) {
  const auto values = parse_with_job_file(arguments, generate_options(), "generate");
  GenerateConfig config;
  config.customers = parse_integer("customers", required(values, "customers", "generate"), 1,
                                   std::int64_t{1} << 40, "a positive integer");
  config.segments = static_cast<int>(
      parse_integer("segments", text_of(values, "segments", "8"), 1, 100000, "1 to 100000"));
  config.separation =
      parse_real("separation", text_of(values, "separation", "3"), 0.0, "a number >= 0");
  config.seed = parse_seed(text_of(values, "seed", "1"));
  config.output = required(values, "output", "generate");
  return config;
}

SegmentConfig parse_segment_options(const std::vector<std::string>& arguments) {
  const auto values = parse_with_job_file(arguments, segment_options(), "segment");
  SegmentConfig config;
  config.input = required(values, "input", "segment");
  config.output = required(values, "output", "segment");
  config.job_file = text_of(values, "config");
  config.k = static_cast<int>(
      parse_integer("k", required(values, "k", "segment"), 1, 1 << 24, "an integer >= 1"));
  config.features = split_list(text_of(values, "features"));
  try {
    config.scale = parse_scale_kind(text_of(values, "scale", "zscore"));
    config.init = parse_init_kind(text_of(values, "init", "kmeans-parallel"));
  } catch (const InputError& e) {
    throw InputError(std::string("segment: ") + e.what());
  }
  config.log1p_features = split_list(text_of(values, "log1p"));
  config.init_centroids = text_of(values, "init-centroids");
  if (config.init == InitKind::file && config.init_centroids.empty()) {
    throw InputError("segment: --init file needs --init-centroids FILE");
  }
  if (config.init != InitKind::file && !config.init_centroids.empty()) {
    config.init = InitKind::file;  // giving the file is asking for it
  }
  config.max_iterations = static_cast<int>(
      parse_integer("max-iter", text_of(values, "max-iter", "300"), 1, 1 << 30, "an integer >= 1"));
  config.tolerance = parse_real("tol", text_of(values, "tol", "1e-4"), 0.0, "a number >= 0");
  config.seed = parse_seed(text_of(values, "seed", "0"));
  config.silhouette_sample =
      parse_integer("silhouette-sample", text_of(values, "silhouette-sample", "10000"), 0,
                    std::int64_t{1} << 40, "an integer >= 0");
  return config;
}

std::string describe(const SegmentConfig& config) {
  auto join = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
  };
  std::ostringstream text;
  text << "input = " << config.input << "\noutput = " << config.output << "\nk = " << config.k
       << "\nfeatures = " << join(config.features) << "\nscale = " << to_string(config.scale)
       << "\nlog1p = " << join(config.log1p_features) << "\ninit = " << to_string(config.init)
       << "\ninit-centroids = " << config.init_centroids << "\nmax-iter = " << config.max_iterations
       << "\ntol = " << config.tolerance << "\nseed = " << config.seed
       << "\nsilhouette-sample = " << config.silhouette_sample << "\n";
  return text.str();
}

}  // namespace microseg::app
