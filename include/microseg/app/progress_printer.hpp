#pragma once
/// \file What a command prints while it runs, on rank 0: how much (--quiet, --verbose) and how
/// often (at most one progress line every MICROSEG_PROGRESS_SECONDS, default 5, so a Slurm log
/// of a long fit stays readable). Errors never pass through here: they go to stderr in main.cpp.
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace microseg::app {

/// --quiet: errors and the final summary only; --verbose: every line, with per-phase detail.
enum class Verbosity { quiet, normal, verbose };

/// The verbosity of this run, set once by main.cpp from --quiet / --verbose (normal unless set).
Verbosity verbosity();
void set_verbosity(Verbosity level);

/// Takes --quiet and --verbose out of `arguments` and returns the verbosity they ask for.
/// Throws InputError when both are given.
Verbosity take_verbosity_options(std::vector<std::string>& arguments);

/// Seconds between two rate-limited lines: MICROSEG_PROGRESS_SECONDS, or 5 when unset. Throws
/// InputError naming the variable when it is not a number >= 0.
double progress_interval_seconds();

/// "read 76,300,000 bytes of features (76.30 MB) in 1.234 s (61.8 MB/s)": what a read took.
std::string read_rate_line(std::int64_t bytes, double seconds);
/// "parsed 1,000,000 rows in 2.500 s (400,000 rows/s)": an ingest's last progress line.
std::string row_rate_line(const std::string& verb, std::int64_t rows, double seconds);
/// "metrics: 0.123 s": a phase's timing, for --verbose.
std::string phase_seconds_line(const std::string& phase, double seconds);

/// Prints a command's progress lines on rank 0 (other ranks print nothing). A phase's lines go
/// through tick(): its first line is always printed, then at most one line per interval, and the
/// last line held back is printed when the phase ends (the next phase, a note or the summary),
/// so a log shows where every phase started and ended.
class ProgressPrinter {
 public:
  ProgressPrinter(bool root, std::ostream& out);
  ProgressPrinter(bool root, std::ostream& out, Verbosity level, double interval_seconds);
  ~ProgressPrinter();
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

  /// A line of `phase`, rate-limited (every line with --verbose, none with --quiet).
  void tick(const std::string& phase, const std::string& line);
  /// A line printed unless --quiet: where a run stands (what was read, a note, a warning).
  void note(const std::string& line);
  /// Per-phase detail (timings): printed with --verbose only.
  void detail(const std::string& line);
  /// Ends the current phase: prints its held-back last line, if any.
  void end_phase();
  /// The stream for the final summary, printed at every verbosity; a stream that discards its
  /// input on ranks other than 0. Ends the current phase first.
  std::ostream& summary();

 private:
  void print(const std::string& line);

  bool root_;
  std::ostream& out_;
  Verbosity level_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_printed_;
  std::string phase_;
  std::string held_back_;                           // the phase's latest line not printed yet
  std::unique_ptr<std::streambuf> discard_buffer_;  // summary() on ranks other than 0
  std::unique_ptr<std::ostream> discard_;
};

}  // namespace microseg::app
