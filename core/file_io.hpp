#pragma once
// Whole-file reads with errors that name the file, and atomic writes: data goes
// to "<path>.tmp.<pid>" first, is flushed to disk, then renamed over <path>, so
// a reader (or a crash) never sees a half-written file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bb {

// Throws Error(Input) naming the path when it is missing, a directory or unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes = UINT64_MAX);
std::string read_file_text(const std::string& path, uint64_t max_bytes = UINT64_MAX);

// Test hook: while counting is on, every whole-file read above is counted by
// path as given (tests check that a run reads each model file once). Turning
// it on clears the counts; off (the normal case) counts nothing.
void count_file_reads(bool on);
int64_t file_reads(const std::string& path);

// Throws Error(Runtime) naming the path when writing fails (disk full, no
// permission); the temporary file is removed and any previous <path> is kept.
// Test hook: with BITBENCH_FAULT_DISK_FULL_AFTER=N in the environment the
// process may write N bytes this way, then writes fail with ENOSPC.
void write_file_atomic(const std::string& path, std::string_view data);
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& data);

// Non-throwing filesystem tests for paths that come from users' files: a name
// too long, a symlink loop or no permission reads as "not there" (the caller's
// "missing" error then names it) instead of escaping as a filesystem_error
// (found by fuzz_labels: a 300-byte file name in a label file).
bool is_file_path(const std::filesystem::path& p) noexcept;
bool is_dir_path(const std::filesystem::path& p) noexcept;
bool path_exists(const std::filesystem::path& p) noexcept;

// Creates the directory and its parents; Error(Runtime) naming it on failure.
void make_dirs(const std::string& dir);

}  // namespace bb
