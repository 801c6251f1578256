#pragma once
// Monotonic wall-clock stopwatches (steady_clock: never jumps with NTP): a
// stage's or a pass's duration, and a profile's per-part sums. Latency — calls
// timed in rounds with statistics — is the meter's (measure/meter.hpp).
#include <chrono>

namespace bb {

class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  void reset() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double millis() const { return seconds() * 1e3; }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Adds the seconds between construction and destruction to *slot (null:
// nothing, no clock read): ViTRunner's per-part profile.
class ScopedSeconds {
 public:
  explicit ScopedSeconds(double* slot) : slot_(slot) {
    if (slot_) t0_ = std::chrono::steady_clock::now();
  }
  ~ScopedSeconds() {
    if (slot_) *slot_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  ScopedSeconds(const ScopedSeconds&) = delete;
  ScopedSeconds& operator=(const ScopedSeconds&) = delete;

 private:
  double* slot_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace bb
