#pragma once
// Progress for long work. On a terminal the line redraws in place (about ten
// times a second); otherwise (logs, CI) a plain line is printed every few
// seconds. Each shows elapsed time, rate and ETA.
// BITBENCH_PROGRESS=auto|tty|plain|off overrides the choice (default auto);
// BITBENCH_PROGRESS_INTERVAL sets the plain-mode interval in seconds (default 5).
#include <cstdint>
#include <iosfwd>
#include <string>

#include "core/timer.hpp"

namespace bb {

enum class ProgressMode { Off, Tty, Plain };

// "12.5%  7500/60000 img  0:03 elapsed  2500.0 img/s  ETA 0:21"
std::string format_progress(int64_t done, int64_t total, double elapsed_s, const std::string& unit);
// "1:02:03" or "2:03"
std::string format_duration(double seconds);

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it");
  // For tests: explicit sink, mode and interval.
  Progress(std::string label, int64_t total, std::string unit, std::ostream& out, ProgressMode mode,
           double plain_interval_s);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n = 1);
  // Prints the final line (also in plain mode) once. When the work is
  // abandoned by an exception, the destructor prints nothing (and clears a
  // terminal line) so the error is the only line left.
  void finish();
  int64_t done() const { return done_; }

 private:
  void emit(bool final);
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  std::ostream& out_;
  ProgressMode mode_;
  double interval_s_;
  double last_emit_s_ = 0;
  bool finished_ = false;
  int uncaught_at_start_;
  Timer timer_;
};

}  // namespace bb
