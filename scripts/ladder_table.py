#!/usr/bin/env python3
"""The precision ladder of a main-job report as one Markdown table (issue #34).

    python3 scripts/ladder_table.py runs/fashion_mnist_default/report.json [--backend bitkernels]

One row per model on the given backend (the teacher on oneDNN and the W8A8
baseline on oneDNN int8 as they are): top-1 and its gap to the teacher, the
weights as the backend holds them and their share of the teacher's, the
speed-up over the teacher at every latency point with its 95 % interval, the
modelled energy per image at batch 1 and 64, and on which Pareto fronts
(weights, each latency point) it lies. Then, when the report has one, the
"at ViT scale" rows at batch 64. Standard library only.
"""
import argparse
import json


def front(points):
    """Indices not beaten by a point both lower in x and at least as high in y."""
    on = set()
    for i, (x, y) in enumerate(points):
        if x is None:
            continue
        if not any(j != i and px is not None and px <= x and py >= y and (px < x or py > y)
                   for j, (px, py) in enumerate(points)):
            on.add(i)
    return on


def speedup(l):
    s = l.get("speedup_vs_teacher")
    if not s:
        return "–"
    mark = "" if s["significant"] else " n.s."
    return f"{s['median']:.2f}× [{s['ci95'][0]:.2f}–{s['ci95'][1]:.2f}]{mark}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("--backend", default="bitkernels", help="the students' backend to show (default bitkernels)")
    a = ap.parse_args()
    r = json.load(open(a.report))
    models = [m for m in r["models"] if m["role"] != "student" or m["backend"] == a.backend]
    teacher = next(m for m in r["models"] if m["role"] == "teacher")
    points = sorted({(l["batch"], l["threads"]) for m in models for l in m.get("latency", [])})
    lat = lambda m, p: next((l for l in m.get("latency", []) if (l["batch"], l["threads"]) == p), None)
    top1 = [m["accuracy"]["top1"] for m in models]
    fronts = {"weights": front([(m["weight_bytes"]["memory"], t) for m, t in zip(models, top1)])}
    for p in points:
        fronts[f"b{p[0]}t{p[1]}"] = front([((lat(m, p) or {}).get("p50_ms"), t) for m, t in zip(models, top1)])
    head = ["model", "precision", "backend", "top-1", "gap", "weights in memory"]
    head += [f"x teacher b{b} t{t}" for b, t in points] + ["µJ/image b1 (model)", "µJ/image b64 (model)", "fronts"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    tw = teacher["weight_bytes"]["memory"]
    for i, m in enumerate(models):
        e = m.get("energy_model", {})
        on = ", ".join(k for k, s in fronts.items() if i in s) or "–"
        row = [m["name"], m["precision"], m["backend"], f"{m['accuracy']['top1']:.2f}",
               "–" if m is teacher else f"{m['accuracy']['top1'] - teacher['accuracy']['top1']:+.2f}",
               f"{m['weight_bytes']['memory'] / 1e3:.1f} kB ({100 * m['weight_bytes']['memory'] / tw:.1f} %)"]
        row += ["1.00" if m is teacher else speedup(lat(m, p) or {}) for p in points]
        row += [f"{e['uj_per_image_batch_1']:.2f}" if e else "–", f"{e['uj_per_image_batch_64']:.3f}" if e else "–", on]
        print("| " + " | ".join(row) + " |")
    v = r.get("vit_scale")
    if v:
        print(f"\nAt ViT scale ({v['label']}), {v['threads']} threads, speed-up over fp32 [95 % interval]:\n")
        print("| preset | format | weights | " + " | ".join(f"b{b}" for b in v["protocol"]["batch_sizes"]) + " |")
        print("|" + " --- |" * (3 + len(v["protocol"]["batch_sizes"])))
        for p in v["presets"]:
            for m in p["models"]:
                cells = []
                for b in v["protocol"]["batch_sizes"]:
                    pt = next((q for q in m["points"] if q["batch"] == b), None)
                    s = pt["speedup_vs_fp32"] if pt else None
                    cells.append(f"{s['median']:.2f}× [{s['ci95'][0]:.2f}–{s['ci95'][1]:.2f}]" if s else "–")
                print(f"| {p['preset']} | {m['format']} | {m['weight_bytes'] / 1e6:.2f} MB ({100 * m['weights_vs_fp32']:.1f} %) | "
                      + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
