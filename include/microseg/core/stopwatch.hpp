#pragma once
/// \file Wall-clock time of a run's phases, for the /run timings and the log.
#include <chrono>

namespace microseg {

/// Seconds since construction (elapsed) or since the last lap (lap), on the steady clock.
class Stopwatch {
 public:
  double elapsed() const { return seconds_between(start_, Clock::now()); }
  double lap() {
    const auto now = Clock::now();
    const double seconds = seconds_between(last_, now);
    last_ = now;
    return seconds;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
  }
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
};

}  // namespace microseg
