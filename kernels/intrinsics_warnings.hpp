// Included by the .cpp files that use AVX-512 intrinsics (not by headers: the
// pragmas hold for the rest of the including file). GCC 12's AVX-512 shift,
// convert and set intrinsics pass an "undefined" source operand that
// -Wmaybe-uninitialized / -Wuninitialized report (a known false positive).
#pragma once
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
