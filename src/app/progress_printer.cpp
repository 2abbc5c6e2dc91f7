#include "microseg/app/progress_printer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <streambuf>

#include "microseg/core/number_text.hpp"
#include "microseg/core/types.hpp"

namespace microseg::app {
namespace {

Verbosity run_verbosity = Verbosity::normal;

// Swallows everything: the summary stream of ranks other than 0.
class DiscardBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

}  // namespace

Verbosity verbosity() {
  return run_verbosity;
}

void set_verbosity(Verbosity level) {
  run_verbosity = level;
}

Verbosity take_verbosity_options(std::vector<std::string>& arguments) {
  bool quiet = false, verbose = false;
  for (auto it = arguments.begin(); it != arguments.end();) {
    if (*it == "--quiet" || *it == "--verbose") {
      (*it == "--quiet" ? quiet : verbose) = true;
      it = arguments.erase(it);
    } else {
      ++it;
    }
  }
  if (quiet && verbose) {
    throw InputError("options --quiet and --verbose cannot be combined: choose one");
  }
  return quiet ? Verbosity::quiet : verbose ? Verbosity::verbose : Verbosity::normal;
}

double progress_interval_seconds() {
  const char* text = std::getenv("MICROSEG_PROGRESS_SECONDS");
  if (!text) return 5;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !std::isfinite(seconds) || seconds < 0) {
    throw InputError(
        std::string("environment variable MICROSEG_PROGRESS_SECONDS: invalid value '") + text +
        "' (expected a number of seconds >= 0, e.g. 5)");
  }
  return seconds;
}

std::string read_rate_line(std::int64_t bytes, double seconds) {
  const double megabytes = static_cast<double>(bytes) / 1e6;
  std::ostringstream line;
  line << std::fixed << std::setprecision(2) << "read " << with_thousands(bytes)
       << " bytes of features (" << megabytes << " MB) in " << std::setprecision(3) << seconds
       << " s (" << std::setprecision(1) << megabytes / std::max(seconds, 1e-9) << " MB/s)";
  return line.str();
}

std::string row_rate_line(const std::string& verb, std::int64_t rows, double seconds) {
  const auto per_second =
      static_cast<std::int64_t>(std::llround(static_cast<double>(rows) / std::max(seconds, 1e-9)));
  std::ostringstream line;
  line << verb << " " << with_thousands(rows) << " rows in " << std::fixed << std::setprecision(3)
       << seconds << " s (" << with_thousands(per_second) << " rows/s)";
  return line.str();
}

std::string phase_seconds_line(const std::string& phase, double seconds) {
  std::ostringstream line;
  line << phase << ": " << std::fixed << std::setprecision(3) << seconds << " s";
  return line.str();
}

ProgressPrinter::ProgressPrinter(bool root, std::ostream& out)
    : ProgressPrinter(root, out, verbosity(), progress_interval_seconds()) {}

ProgressPrinter::ProgressPrinter(bool root, std::ostream& out, Verbosity level,
                                 double interval_seconds)
    : root_(root),
      out_(out),
      level_(level),
      interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(interval_seconds))) {}

ProgressPrinter::~ProgressPrinter() = default;

void ProgressPrinter::print(const std::string& line) {
  // Flushed line by line: a Slurm log shows it as it happens, not when the buffer fills.
  if (root_) out_ << line << std::endl;
  last_printed_ = std::chrono::steady_clock::now();
}

void ProgressPrinter::tick(const std::string& phase, const std::string& line) {
  if (level_ == Verbosity::quiet) return;
  if (level_ == Verbosity::verbose) {
    print(line);
    return;
  }
  if (phase != phase_) {
    end_phase();
    phase_ = phase;
    print(line);
  } else if (std::chrono::steady_clock::now() - last_printed_ >= interval_) {
    held_back_.clear();
    print(line);
  } else {
    held_back_ = line;
  }
}

void ProgressPrinter::end_phase() {
  if (!held_back_.empty()) print(held_back_);
  held_back_.clear();
  phase_.clear();
}

void ProgressPrinter::note(const std::string& line) {
  if (level_ == Verbosity::quiet) return;
  end_phase();
  print(line);
}

void ProgressPrinter::detail(const std::string& line) {
  if (level_ != Verbosity::verbose) return;
  end_phase();
  print(line);
}

std::ostream& ProgressPrinter::summary() {
  end_phase();
  if (root_) return out_;
  if (!discard_) {
    discard_buffer_ = std::make_unique<DiscardBuffer>();
    discard_ = std::make_unique<std::ostream>(discard_buffer_.get());
  }
  return *discard_;
}

}  // namespace microseg::app
