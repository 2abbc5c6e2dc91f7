#pragma once
/// \file Option parsing shared by the subcommands.
///
/// Every option of a subcommand may also come from an INI job file given with --config
/// (`key = value` lines; the command line wins). Values are read as text and converted here, so
/// every message names the option and the offending value the same way wherever it came from.
/// Rank 0 parses; the resulting config struct is broadcast with Boost.Serialization.
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/pipeline/customer_input.hpp"
#include "microseg/pipeline/publication.hpp"

namespace microseg::app {

class OptionReader {
 public:
  /// Parses the command line, then the --config job file if given. Throws InputError naming an
  /// unknown option, an unknown job-file key or a missing job file.
  OptionReader(const std::string& command,
               const boost::program_options::options_description& options,
               const std::vector<std::string>& arguments);

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  std::string text(const std::string& key, const std::string& fallback = "") const;
  std::string required(const std::string& key) const;
  std::vector<std::string> list(const std::string& key) const;  ///< comma-separated
  std::int64_t integer(const std::string& key, const std::string& fallback, std::int64_t min,
                       std::int64_t max) const;
  double real(const std::string& key, const std::string& fallback, double min) const;
  std::uint64_t seed(const std::string& key, const std::string& fallback) const;
  std::string job_file() const { return text("config"); }
  /// Every option given (the command line and the job file merged), without --config and
  /// --output, the values of `path_keys` made absolute: what the manifest records so that
  /// `microseg reproduce` can replay the run from another directory.
  std::vector<std::pair<std::string, std::string>> recorded(
      const std::vector<std::string>& path_keys) const;

 private:
  std::string command_;
  boost::program_options::variables_map values_;
};

/// An option's help text, worded alike in every command's --help (and so in the man page):
/// `what`, then "(default: FALLBACK; e.g. EXAMPLE)", or "(FALLBACK; e.g. EXAMPLE)" when the
/// fallback starts with "required". The example is the option as typed, e.g. "--k 12".
std::string option_help(const std::string& what, const std::string& fallback,
                        const std::string& example);

/// Adds --NAME taking a value, described by option_help(what, fallback, example).
void add_option(boost::program_options::options_description& options, const char* name,
                const std::string& what, const std::string& fallback, const std::string& example);
/// Adds the switch --NAME, off unless given (alone or as --NAME=true|false, or in a job file).
void add_switch(boost::program_options::options_description& options, const char* name,
                const std::string& what, const std::string& example);

/// The options every command takes besides its own, for its --help: --config and
/// --stall-timeout (read by OptionReader), --threads, --quiet and --verbose (taken out by the
/// program before the command sees them).
boost::program_options::options_description common_options();

/// Adds --stall-timeout SECONDS, which every command takes (OptionReader accepts it on the
/// command line and in job files and hands it to pipeline::plan_on_root).
void add_stall_timeout_option(boost::program_options::options_description& options);

/// Throws InputError "option --NAME: invalid value 'VALUE' (expected EXPECTED)".
[[noreturn]] void invalid_option_value(const std::string& option, const std::string& value,
                                       const std::string& expected);

/// "true"/"false" (and yes/no, 1/0) of a switch given on the command line or in a job file;
/// false when absent. Throws InputError naming the option otherwise.
bool switch_value(const OptionReader& options, const std::string& key);

/// The help of --assignments-csv, which segment, promote and assign share.
std::string assignments_csv_help();

/// Adds --privacy-min-count and --pseudonymise-ids, which segment, promote and assign share
/// (what the shared CSV files and the printed tables may show; docs/file-format.md).
void add_publication_options(boost::program_options::options_description& options);
/// Reads them; throws InputError naming the option and the bad value. The key file is read by
/// the pipeline, not here.
pipeline::PublicationOptions parse_publication_options(const OptionReader& options);

/// Adds the transform options segment and sweep share (--missing, --one-hot, --clip-quantiles,
/// --weights) to a subcommand's options.
void add_transform_options(boost::program_options::options_description& options);
/// Reads them; throws InputError naming the option and the bad value.
pipeline::TransformOptions parse_transform_options(const OptionReader& options);

}  // namespace microseg::app
