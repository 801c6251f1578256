#pragma once
// Where a measurement was taken: what a reader needs to reproduce or discount it.
#include <nlohmann/json.hpp>
#include <string>

namespace bb {

// CPU model and flags, cores, threads used, OS, compiler and build type,
// oneDNN version, the kernel paths dispatched now, bitbench version and git
// revision (+dirty), the command line.
nlohmann::ordered_json capture_environment(const std::string& command_line);

// This machine's host name; the CPUs this process may run on ("0,1": a pinned
// rank's own); the time now as ISO 8601 UTC ("2026-11-29T21:49:29Z").
std::string host_name();
std::string affinity_list();
std::string utc_now();

// Peak resident set size of this process since start or the last
// reset_peak_rss(), bytes (VmHWM; getrusage where /proc is missing).
int64_t peak_rss_bytes();
// Resident set size now, bytes (VmRSS; 0 where /proc is missing).
int64_t current_rss_bytes();
// Returns freed heap to the system (malloc_trim) and resets the kernel's peak
// (Linux /proc/self/clear_refs "5"); false where refused.
bool reset_peak_rss();

}  // namespace bb
