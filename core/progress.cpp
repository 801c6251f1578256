#include "core/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>

namespace bb {
namespace {

ProgressMode mode_from_env() {
  const char* v = std::getenv("BITBENCH_PROGRESS");
  if (v && std::strcmp(v, "off") == 0) return ProgressMode::Off;
  if (v && std::strcmp(v, "plain") == 0) return ProgressMode::Plain;
  if (v && std::strcmp(v, "tty") == 0) return ProgressMode::Tty;
  return isatty(fileno(stderr)) ? ProgressMode::Tty : ProgressMode::Plain;
}

double interval_from_env() {
  const char* v = std::getenv("BITBENCH_PROGRESS_INTERVAL");
  if (v) {
    char* end = nullptr;
    double d = std::strtod(v, &end);
    if (end != v && d >= 0) return d;
  }
  return 5.0;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 360000000) return "?";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string format_progress(int64_t done, int64_t total, double elapsed_s, const std::string& unit) {
  char buf[256];
  double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
  std::string eta = "?";
  if (total > 0 && done >= total) eta = "0:00";
  else if (total > 0 && rate > 0) eta = format_duration(static_cast<double>(total - done) / rate);
  if (total > 0) {
    double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total);
    std::snprintf(buf, sizeof buf, "%5.1f%%  %lld/%lld %s  %s elapsed  %.1f %s/s  ETA %s", pct,
                  static_cast<long long>(done), static_cast<long long>(total), unit.c_str(),
                  format_duration(elapsed_s).c_str(), rate, unit.c_str(), eta.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%lld %s  %s elapsed  %.1f %s/s", static_cast<long long>(done),
                  unit.c_str(), format_duration(elapsed_s).c_str(), rate, unit.c_str());
  }
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : Progress(std::move(label), total, std::move(unit), std::cerr, mode_from_env(), interval_from_env()) {}

Progress::Progress(std::string label, int64_t total, std::string unit, std::ostream& out, ProgressMode mode,
                   double plain_interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      mode_(mode),
      interval_s_(plain_interval_s),
      uncaught_at_start_(std::uncaught_exceptions()) {}

Progress::~Progress() {
  try {
    if (std::uncaught_exceptions() > uncaught_at_start_) {
      if (mode_ == ProgressMode::Tty && !finished_) out_ << "\r\x1b[K" << std::flush;
      finished_ = true;
    }
    finish();
  } catch (...) {
  }
}

void Progress::advance(int64_t n) {
  done_ += n;
  double now = timer_.seconds();
  double every = mode_ == ProgressMode::Tty ? 0.1 : interval_s_;
  if (now - last_emit_s_ >= every) {
    last_emit_s_ = now;
    emit(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  emit(true);
}

void Progress::emit(bool final) {
  if (mode_ == ProgressMode::Off) return;
  std::string line = label_ + "  " + format_progress(done_, total_, timer_.seconds(), unit_);
  if (mode_ == ProgressMode::Tty) {
    out_ << '\r' << line << "\x1b[K";
    if (final) out_ << '\n';
  } else {
    out_ << line << '\n';
  }
  out_.flush();
}

}  // namespace bb
