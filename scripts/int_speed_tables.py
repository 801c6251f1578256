#!/usr/bin/env python3
"""Issue #33's speed tables (docs/LOWBIT.md, "Integer-only students") from
bench_vit's and bench_kernels' console output:

  B=./build/bench
  $B/bench_vit --benchmark_filter='StudentForward/(main_job_(int|intln)_w1_58ra8_rprelu|main_job_w1_58ra8_rprelu|deit_tiny_(int|intln)_w1_58a8|deit_tiny_int_w1a1|deit_small_(int|intln)_w1_58a8)_bitkernels/' --benchmark_min_time=0.5 > student.txt
  $B/bench_kernels --benchmark_filter=CorePeak > peak.txt
  $B/bench_vit --benchmark_filter=BM_TwoThreads > two.txt                      (optional)
  $B/bench_vit --benchmark_filter='BM_Int' --benchmark_min_time=0.3 > parts.txt (optional)
  python3 scripts/int_speed_tables.py student.txt peak.txt [two.txt [parts.txt]]

Prints the speed-up table (x teacher, median [95 % interval]), the batch-64
one-thread profile with each part's rate against the core's sustained peak,
and the two-thread and per-part ratios.
"""
import re
import sys

ROWS = {  # bench name -> (label, preset)
    "main_job_int_w1_58ra8_rprelu_bitkernels": ("main job's shape, integer-only ternary", "main_job"),
    "main_job_intln_w1_58ra8_rprelu_bitkernels": ("main job's shape, integer-only ternary with the integer LayerNorm", "main_job"),
    "main_job_w1_58ra8_rprelu_bitkernels": ("main job's shape, the zoo's ternary (float nonlinearities)", "main_job"),
    "deit_tiny_int_w1_58a8_bitkernels": ("DeiT-Tiny, integer-only W1.58A8", "deit_tiny"),
    "deit_tiny_intln_w1_58a8_bitkernels": ("DeiT-Tiny, integer-only W1.58A8 with the integer LayerNorm", "deit_tiny"),
    "deit_tiny_int_w1a1_bitkernels": ("DeiT-Tiny, integer-only W1A1 (XNOR Linears)", "deit_tiny"),
    "deit_small_int_w1_58a8_bitkernels": ("DeiT-Small, integer-only W1.58A8", "deit_small"),
    "deit_small_intln_w1_58a8_bitkernels": ("DeiT-Small, integer-only W1.58A8 with the integer LayerNorm", "deit_small"),
}
# tokens, width, MLP width, depth, patches, patch size² · channels (bench_vit's presets)
SHAPES = {"main_job": (50, 64, 128, 6, 49, 16), "deit_tiny": (197, 192, 768, 12, 196, 768),
          "deit_small": (197, 384, 1536, 12, 196, 768)}


def macs(preset):
    """Multiply-adds per image: the Linears (patch embedding and blocks; the head is negligible), the attention."""
    T, D, Hm, L, Np, PD = SHAPES[preset]
    return L * T * (3 * D * D + D * D + 2 * D * Hm) + Np * PD * D, L * 2 * T * T * D


def parse(path):
    out = {}
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        sys.exit(f"int_speed_tables.py: {path}: {e.strerror}")
    for line in lines:
        if not line.startswith("BM_"):
            continue
        kv = {}
        for k, v in re.findall(r"(\S+?)=([\d.]+k?)", line):
            kv[k] = float(v[:-1]) * 1000 if v.endswith("k") else float(v)
        out[line.split()[0]] = kv
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    student, peak = parse(sys.argv[1]), parse(sys.argv[2])
    vnni = next((v["GMAC/s"] for k, v in peak.items() if "vnni" in k and "GMAC/s" in v), None)
    fma = next((v["GFMA/s"] for k, v in peak.items() if "fma" in k and "GFMA/s" in v), None)
    if vnni is None or fma is None:
        sys.exit(f"int_speed_tables.py: {sys.argv[2]}: no BM_CorePeak/vnni_int8 and fma_fp32 lines (bench_kernels --benchmark_filter=CorePeak)")
    print(f"core peak: {vnni:.0f} G int8 MACs/s (vpdpbusd), {fma:.0f} G fp32 FMAs/s\n")
    print("| | batch 1, 1 thread | batch 1, 2 threads | batch 64, 1 thread | batch 64, 2 threads |")
    print("| --- | --- | --- | --- | --- |")
    for key, (label, _) in ROWS.items():
        cells = []
        for b, t in [(1, 1), (1, 2), (64, 1), (64, 2)]:
            kv = student.get(f"BM_StudentForward/{key}/batch:{b}/threads:{t}/real_time")
            cells.append(f"{kv['x_teacher']:.2f}× [{kv['x_teacher_lo']:.2f}–{kv['x_teacher_hi']:.2f}]" if kv else "–")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nms per forward, batch 64, 1 thread:\n")
    print("| | Linears: GEMM + quantiser | GEMM rate | attention (softmax) | attention rate | norm | GELU | rest | total |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    parts = ["linear_ms", "attention_ms", "norm_ms", "gelu_ms", "other_ms"]
    teachers = set()
    for key, (label, preset) in ROWS.items():
        kv = student.get(f"BM_StudentForward/{key}/batch:64/threads:1/real_time")
        if not kv:
            continue
        lin, att = (64 * m for m in macs(preset))
        gemm = kv["linear_ms"] - kv["requant_ms"]
        rate = f"{lin / gemm / 1e6:.0f} G/s" + (" (XNOR)" if "w1a1" in key else f" ({100 * lin / gemm / 1e6 / vnni:.0f} % of VNNI)")
        int_att = "_int_" in key or "_intln_" in key
        att_rate = att / kv["attention_ms"] / 1e6
        att_cell = f"{att_rate:.0f} G/s ({100 * att_rate / (vnni if int_att else fma):.0f} % of {'VNNI' if int_att else 'FMA'})"
        print(f"| {label} | {gemm:.1f} + {kv['requant_ms']:.1f} | {rate} | {kv['attention_ms']:.1f} ({kv['softmax_ms']:.1f}) "
              f"| {att_cell} | {kv['norm_ms']:.1f} | {kv['gelu_ms']:.1f} | {kv['other_ms']:.1f} | {sum(kv[p] for p in parts):.1f} |")
        if preset not in teachers:
            teachers.add(preset)
            tl, ta = kv["teacher_linear_ms"], kv["teacher_attention_ms"]
            print(f"| {preset}, fp32 teacher | {tl:.1f} | {lin / tl / 1e6:.0f} G/s ({100 * lin / tl / 1e6 / fma:.0f} % of FMA) "
                  f"| {ta:.1f} | {att / ta / 1e6:.0f} G/s ({100 * att / ta / 1e6 / fma:.0f} % of FMA) | {kv['teacher_norm_ms']:.1f} "
                  f"| {kv['teacher_gelu_ms']:.1f} | {kv['teacher_other_ms']:.1f} | {sum(kv['teacher_' + p] for p in parts):.1f} |")
    if len(sys.argv) > 3:
        print("\n1 thread's time over 2 threads' (BM_TwoThreads):")
        for name, kv in parse(sys.argv[3]).items():
            print(f"  {name}: {kv['x_one_thread']:.2f}× [{kv['x_one_thread_lo']:.2f}–{kv['x_one_thread_hi']:.2f}] "
                  f"({kv['ms_1thread']:.3f} ms, {kv['ms_2threads']:.3f} ms)")
    if len(sys.argv) > 4:
        print("\ninteger part's time over the float one's:")
        for name, kv in parse(sys.argv[4]).items():
            print(f"  {name}: {kv['x_float']:.2f}× [{kv['x_float_lo']:.2f}–{kv['x_float_hi']:.2f}]")


if __name__ == "__main__":
    main()
