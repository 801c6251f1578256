#pragma once
// Number and HTML text helpers the report renderers and plots share.
#include <cstdio>
#include <string>

namespace bb {

// v with prec decimals ("%.*f").
inline std::string fmt(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

inline std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  return o;
}

}  // namespace bb
