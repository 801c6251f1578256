#pragma once
// Where a measurement was taken: what a reader needs to reproduce or discount it.
#include <nlohmann/json.hpp>
#include <string>

namespace bb {

// CPU model and flags, cores, threads used, OS, compiler and build type,
// oneDNN version, the kernel paths dispatched now, bitbench version and git
// revision (+dirty), the command line.
nlohmann::ordered_json capture_environment(const std::string& command_line);

// Peak resident set size of this process since start or the last
// reset_peak_rss(), bytes (VmHWM; getrusage where /proc is missing).
int64_t peak_rss_bytes();
// Resets the kernel's peak (Linux /proc/self/clear_refs "5"); false where refused.
bool reset_peak_rss();

}  // namespace bb
