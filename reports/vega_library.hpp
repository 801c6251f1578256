#pragma once
// Vega 5, as report.html inlines it. Debian's libjs-vega ships Vega's modules
// one UMD file each; reports/embed_vega.cmake copies the ones the plots need
// into the binary at build time (vega_modules.cpp, generated), and
// vega_library_script() joins them behind a small AMD loader into one script
// that defines `vega` (View, parse, ...), so the page needs no network.
#include <cstddef>
#include <string>
#include <vector>

namespace bb {

struct VegaModuleText {
  const char* name;  // the file's name without .min.js, e.g. "vega-view"
  size_t offset, size;  // into vega_module_bytes()
};

// Generated (vega_modules.cpp): the modules' bytes as the package ships them.
std::vector<VegaModuleText> vega_module_texts();
const unsigned char* vega_module_bytes();
const char* vega_package_version();  // Debian's version of libjs-vega, e.g. "5.22.1+ds+~3.1.0-4"

// The whole library as the text of one <script> element: the loader, every
// module, and the assembly into window.vega. "</script" and "<!--" never
// occur in it (escaped where the modules had them), so it can be inlined as is.
const std::string& vega_library_script();

// Text for a <script> element: "</script" (any case) and "<!--" escaped as
// "<\/script" and "<\!--" (inside string literals and regular expressions they
// mean the same).
std::string script_safe(const std::string& js);

}  // namespace bb
