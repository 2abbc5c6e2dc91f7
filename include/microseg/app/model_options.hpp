#pragma once
/// \file The options of the segmentation model, defined once for `segment`, `sweep` and
/// `promote`, so one job file serves all three.
///
/// Each command takes every one of them (same spelling, same help, same choices). `segment` uses
/// them all; `sweep` and `promote` accept those that make no sense for them and print a note
/// saying they are ignored and why, and refuse those that would change what they fit, saying why.
#include <boost/program_options/options_description.hpp>
#include <string>
#include <vector>

#include "microseg/app/option_reader.hpp"
#include "microseg/core/hierarchy.hpp"

namespace microseg::app {

/// Adds the model options (input, features, scaling, seeding, Lloyd, comparison with a previous
/// run, value, small segments, checkpoints, two levels, weights, transform) to `options`.
void add_model_options(boost::program_options::options_description& options);

/// The model options `command` ("sweep" or "promote") does not use, for its --help: which it
/// ignores and which it refuses, with why. Empty for "segment".
std::string unused_model_options_help(const std::string& command);

/// For "sweep" and "promote": throws InputError when an option the command refuses is given
/// (with a value that would matter), naming it and saying why; returns one note per given option
/// it ignores ("sweep: --previous is ignored: …"). Nothing for "segment".
std::vector<std::string> check_unused_model_options(const OptionReader& options,
                                                    const std::string& command);

/// --macro-k and --micro-k-rule as `command` ("segment", "sweep") reads them: false when
/// --macro-k is absent (--micro-k-rule alone is refused, naming `command`'s `kind` of two-level
/// job, "run" or "sweep"); else true with `macro_k` and `micro_k_rule` set.
bool read_two_level_options(const OptionReader& options, const std::string& command,
                            const std::string& kind, int& macro_k, MicroBudgetRule& micro_k_rule);

}  // namespace microseg::app
