#!/usr/bin/env python3
"""The GPU benchmark table for benchmarks/RESULTS.md, from what cuda/gpu-check.sh measured in one call:
JMH's JSON for sae4j (jmh-*.json), PyTorch's (torch.json) and the 131072-latent cosine run.

    gpu_report.py OUT_DIR   (markdown on stdout)

Targets (issue 10): a training step at least 2x faster than PyTorch eager and faster than
torch.compile; cosine matching at least 70% of the cuBLAS TF32 GEMM rate of the same product and
at least 2x faster than PyTorch's chunked normalise-matmul-max.
"""
import json
import sys
from pathlib import Path


def load(path):
    """The JSON in path, or None with a line in the report saying why (a check that timed out or
    failed leaves no file, or half of one, and the other tables must still come out)."""
    if not path.exists():
        return None
    try:
        return json.load(open(path))
    except ValueError as e:
        print(f"\n({path.name} unreadable: {e})")
        return None


def jmh(path):
    out = {}
    for rec in load(path) or []:
        p = rec.get("params", {})
        key = (rec["benchmark"].rsplit(".", 1)[1], p.get("dIn"), p.get("ratio"), p.get("density"), p.get("m1"))
        m = rec["primaryMetric"]
        out[key] = (float(m["score"]), float(m["scoreError"]))  # JMH writes "NaN" as text
    return out


def main(out):
    out = Path(out)
    torch = load(out / "torch.json") or {"records": []}
    peer = {}
    for r in torch["records"]:
        if r["what"] == "train_step":
            peer[(r["precision"], r["mode"], r["d"], r["m"], str(r["density"]))] = r["best_ms"]
        else:
            peer[(r["precision"], "mmcs")] = r["best_ms"]
    print(f"\n## Training step, B = 4096 (sae4j JMH mean +- error; PyTorch {torch.get('torch', '?')} best of 7)\n")
    print("| precision | d | m | latents | sae4j step ms | encoder GEMM ms | step / GEMM | torch eager ms | "
          "torch.compile ms | vs eager | vs compile | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for prec, name in (("fp32", "jmh-train.json"), ("tf32", "jmh-train-tf32.json")):
        res = jmh(out / name)
        for (bench, d, ratio, density, _), (score, err) in sorted(res.items(), key=lambda kv: str(kv[0])):
            if bench != "trainStep":
                continue
            gemm = res.get(("encoderGemmBaseline", d, ratio, density, None), (float("nan"), 0))[0]
            m = int(d) * int(ratio)
            eager = peer.get((prec, "eager", int(d), m, density), float("nan"))
            comp = peer.get((prec, "compile", int(d), m, density), float("nan"))
            ok = eager / score >= 2 and comp / score > 1
            print(f"| {prec} | {d} | {m} | {density} | {score:.2f} +- {err:.2f} | {gemm:.2f} | {score / gemm:.2f} | "
                  f"{eager:.2f} | {comp:.2f} | {eager / score:.2f}x | {comp / score:.2f}x | {'met' if ok else 'NOT met'} |")
    print("\n## Cosine matching, 16384 x 16384 x 512 (row and column maxima with argmax)\n")
    print("| precision, method | sae4j ms | cuBLAS GEMM of the same product ms | rate vs GEMM | torch chunked ms | "
          "vs torch | target |")
    print("|---|---|---|---|---|---|---|")
    for prec, name in (("tf32", "jmh-cosine-tf32.json"), ("fp32", "jmh-cosine-fp32.json")):
        res = jmh(out / name)
        for (bench, _, _, _, m1), (score, err) in sorted(res.items(), key=lambda kv: str(kv[0])):
            if bench not in ("cosineMax", "cosineTop1"):
                continue
            gemm = res.get(("sgemmBaseline", None, None, None, m1), (float("nan"), 0))[0]
            t = peer.get((prec, "mmcs"), float("nan"))
            ok = gemm / score >= 0.7 and t / score >= 2 if prec == "tf32" else t / score >= 2
            label = bench + (" (runs FP32 GEMMs)" if bench == "cosineTop1" and prec == "tf32" else "")
            print(f"| {prec} {label} | {score:.2f} +- {err:.2f} | {gemm:.2f} | {gemm / score:.0%} | {t:.2f} | {t / score:.2f}x | "
                  f"{'met' if ok else 'NOT met'} |")
    L = load(out / "large-cosine.json")
    if L:
        print(f"\nLarge: {L['n']} x {L['n']} x {L['d']} (the {L['n']}^2 matrix would be "
              f"{L['n'] ** 2 * 4 / 2 ** 30:.0f} GiB; never formed): cosineMax {L['cosine_max_s']:.3f} s "
              f"({L['cosine_tflops']:.0f} TFLOP/s) against {L['gemm_same_product_s']:.3f} s for the GEMM of the same "
              f"product in 16384-column blocks ({L['gemm_tflops']:.0f} TFLOP/s): {L['rate_vs_gemm']:.0%} of its rate.")
    runs = sorted(out.glob("matching-*.json"))
    if runs:
        print("\n## Certified one-to-one matching (LargeMatching: SAE-like pair, signed then |cos| on one candidate set)\n")
        print("| backend | n | d | sgemm of the product s | candidates s | signed s (solver / certificate) | |cos| s | "
              "total s | signed mean | |cos| mean | certified | full rows | edges | heap MB | native MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for M in filter(None, map(load, runs)):
            print(f"| {M['backend']} | {M['n']} | {M['d']} | {M['gemm_same_product_s']:.2f} | {M['candidates_s']:.2f} | "
                  f"{M['signed_s']:.2f} ({M['signed_solver_s']:.2f} / {M['signed_certificate_s']:.2f}) | {M['abs_s']:.2f} | "
                  f"{M['total_s']:.2f} | {M['signed_mean']:.6f} | {M['abs_mean']:.6f} | "
                  f"{M['signed_certified'] and M['abs_certified']} | {M['full_rows']} | {M['edges']} | "
                  f"{M['heap_used_mb']} | {M['native_physical_mb']} |")


if __name__ == "__main__":
    main(sys.argv[1])
