#pragma once
// Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF):
// names that go into JSON reports must be text, and error lines print the
// bytes of a name that is not as \xNN.
#include <cstddef>
#include <string_view>

namespace bb {

// The length of the well-formed UTF-8 sequence that starts at s[i], or 0.
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t extra = 0;
  unsigned min = 0, cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    extra = 1, min = 0x80, cp = c & 0x1Fu;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2, min = 0x800, cp = c & 0x0Fu;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3, min = 0x10000, cp = c & 0x07u;
  } else {
    return 0;
  }
  if (s.size() - i <= extra) return 0;  // truncated sequence
  for (size_t k = 1; k <= extra; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return extra + 1;
}

inline bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0, n; i < s.size(); i += n)
    if ((n = utf8_sequence_length(s, i)) == 0) return false;
  return true;
}

}  // namespace bb
