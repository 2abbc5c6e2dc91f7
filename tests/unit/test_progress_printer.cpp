#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "microseg/app/progress_printer.hpp"
#include "microseg/core/types.hpp"

using microseg::app::ProgressPrinter;
using microseg::app::Verbosity;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// Ten lines of one phase, then a note, then the summary.
std::vector<std::string> printed(bool root, Verbosity level, double interval) {
  std::ostringstream out;
  ProgressPrinter printer(root, out, level, interval);
  for (int i = 1; i <= 10; ++i) printer.tick("iterations", "iteration " + std::to_string(i));
  printer.detail("iterations: 0.5 s");
  printer.note("metrics …");
  printer.summary() << "converged after 10 iterations\n";
  return lines_of(out.str());
}

}  // namespace

TEST_CASE("a phase shows its first and last line within the interval", "[progress]") {
  CHECK(printed(true, Verbosity::normal, 3600) ==
        std::vector<std::string>{"iteration 1", "iteration 10", "metrics …",
                                 "converged after 10 iterations"});
}

TEST_CASE("with no interval, or verbose, every line shows", "[progress]") {
  const std::vector<std::string> every = printed(true, Verbosity::normal, 0);
  REQUIRE(every.size() == 12);
  CHECK(every[9] == "iteration 10");
  const std::vector<std::string> verbose = printed(true, Verbosity::verbose, 3600);
  REQUIRE(verbose.size() == 13);
  CHECK(verbose[10] == "iterations: 0.5 s");
}

TEST_CASE("quiet keeps the summary only, and ranks other than 0 print nothing", "[progress]") {
  CHECK(printed(true, Verbosity::quiet, 0) ==
        std::vector<std::string>{"converged after 10 iterations"});
  CHECK(printed(false, Verbosity::verbose, 0).empty());
}

TEST_CASE("a line comes once the interval has passed", "[progress]") {
  std::ostringstream out;
  ProgressPrinter printer(true, out, Verbosity::normal, 0.05);
  printer.tick("fit", "a");
  printer.tick("fit", "b");  // held back
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  printer.tick("fit", "c");  // due: printed, and "b" is dropped
  printer.tick("other", "d");
  CHECK(lines_of(out.str()) == std::vector<std::string>{"a", "c", "d"});
}

TEST_CASE("the quiet and verbose options are taken out of the arguments", "[progress]") {
  std::vector<std::string> arguments{"segment", "--quiet", "--k", "3"};
  CHECK(microseg::app::take_verbosity_options(arguments) == Verbosity::quiet);
  CHECK(arguments == std::vector<std::string>{"segment", "--k", "3"});
  CHECK(microseg::app::take_verbosity_options(arguments) == Verbosity::normal);
  std::vector<std::string> both{"--verbose", "--quiet"};
  CHECK_THROWS_AS(microseg::app::take_verbosity_options(both), microseg::InputError);
}
