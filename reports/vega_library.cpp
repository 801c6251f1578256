#include "reports/vega_library.hpp"

#include <cctype>

namespace bb {

std::string script_safe(const std::string& js) {
  std::string o;
  o.reserve(js.size());
  auto at = [&](size_t i, const char* what) {
    for (size_t k = 0; what[k]; ++k)
      if (i + k >= js.size() || std::tolower(static_cast<unsigned char>(js[i + k])) != what[k]) return false;
    return true;
  };
  for (size_t i = 0; i < js.size(); ++i) {
    // "</script" (any case) would end the element early and "<!--" can start
    // HTML's escaped-script state; in a string literal or regular expression
    // "<\/" and "<\!" read the same to JavaScript (specs are embedded as
    // object literals, not parsed as JSON).
    if (at(i, "</script")) {
      o += "<\\/";
      ++i;
    } else if (at(i, "<!--")) {
      o += "<\\!";
      ++i;
    } else {
      o += js[i];
    }
  }
  return o;
}

const std::string& vega_library_script() {
  static const std::string script = [] {
    // A minimal AMD loader: each module's UMD wrapper takes the AMD branch
    // (define.amd) and hands over its dependencies and factory; require()
    // instantiates them on first use. vega-functions asks for
    // "vega-selections", the package Debian ships as vega-selection.min.js.
    std::string s =
        "(function(){var defs={},done={};\n"
        "function req(n){if(done[n])return done[n];var d=defs[n];if(!d)throw new Error('bitbench: Vega module '+n+' is not inlined');\n"
        "var ex={};var args=d.deps.map(function(x){return x==='exports'?ex:req(x);});var r=d.f.apply(null,args);\n"
        "done[n]=r||ex;return done[n];}\n"
        "window.__bbVegaDefine=function(name){var define=function(deps,f){defs[name]={deps:deps,f:f};};define.amd=true;return define;};\n"
        "window.__bbVegaRequire=req;})();\n";
    std::string names;
    const unsigned char* bytes = vega_module_bytes();
    for (const VegaModuleText& m : vega_module_texts()) {
      std::string text(reinterpret_cast<const char*>(bytes + m.offset), m.size);
      // Source maps are not shipped with the page.
      for (size_t at; (at = text.find("//# sourceMappingURL=")) != std::string::npos;) {
        const size_t end = text.find('\n', at);
        text.erase(at, end == std::string::npos ? std::string::npos : end - at);
      }
      const std::string name = std::string(m.name) == "vega-selection" ? "vega-selections" : m.name;
      s += "(function(define){var exports,module;\n" + text + "\n})(window.__bbVegaDefine('" + name + "'));\n";
      names += (names.empty() ? "'" : ",'") + name + "'";
    }
    // What Vega's own index does: register the transforms the dataflow runs
    // (data, view layout, encoding) and re-export every module as `vega`.
    s += "(function(){var R=window.__bbVegaRequire,v={},df=R('vega-dataflow'),u=R('vega-util');\n"
         "['vega-transforms','vega-view-transforms','vega-encode'].forEach(function(n){u.extend(df.transforms,R(n));});\n"
         "[" + names + "].forEach(function(n){var m=R(n);for(var k in m)v[k]=m[k];});\n"
         "v.version='" + std::string(vega_package_version()) + "';window.vega=v;})();\n";
    return script_safe(s);
  }();
  return script;
}

}  // namespace bb
