#!/usr/bin/env python3
"""Table of cuda/gpu-converge.sh: for each run, SAE and budget S (S/16 .. S of the longest), the
figures the study's convergence check compares (report/TrainingChecks): L0 and FVU as means of the
training log's records over the third and the last quarter of S, and the seed pairs' MMCS (mean of
both directions) at 3S/4 and at S. A budget passes when L0 moves under 5%, FVU under 0.01 and every
seed pair's MMCS of that ratio under 0.01. "dead" is the log's last-quarter mean of the trainer's
dead fraction (latents that have not fired within its dead window: --dead-window tokens, 1M by
default), not a held-out count.
    python3 cuda/gpu_converge_report.py WORK_DIR LONGEST_STEPS 'NAME=TRAIN ARGS'...
"""
import csv
import glob
import json
import math
import os
import re
import sys

L0_REL, FVU_ABS, MMCS_ABS = 0.05, 0.01, 0.01


def quarter_mean(rows, name, key, lo, hi):
    vals = [float(r[key]) for r in rows if r["name"] == name and lo < int(r["step"]) <= hi]
    return sum(vals) / len(vals) if vals else math.nan


def pair_mmcs(work, run, step, ratio):
    """{seed pair: (MMCS, PW-MCC)} at ratio `ratio` (the SAE name's part before -seed-), at this step."""
    out, prefix = {}, f"cmp-{run}-{step}-"
    for path in glob.glob(os.path.join(work, f"{prefix}{ratio}-seed-*-{ratio}-seed-*.json")):
        with open(path) as f:
            j = json.load(f)
        out[os.path.basename(path)[len(prefix):]] = ((j["mmcs_ab"] + j["mmcs_ba"]) / 2, j.get("pw_mcc", math.nan))
    return out


def main():
    work, longest, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    print("| run | SAE | budget | L0 q3 -> q4 | change | FVU q3 -> q4 | dead q4 | seed MMCS 75% -> 100% (pairs) | PW-MCC | passes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in runs:
        run, args = spec.split("=", 1)
        path = os.path.join(work, run, "train_log.csv")
        if not os.path.exists(path):
            print(f"| {run}: {args} | (no training log) | | | | | | | | |")
            continue
        with open(path) as f:
            rows = list(csv.DictReader(f))
        names = sorted({r["name"] for r in rows}, key=lambda n: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", n)])
        for q in (16, 8, 4, 2, 1):
            s = longest // q
            for name in names:
                l0a, l0b = (quarter_mean(rows, name, "l0", s * a // 4, s * (a + 1) // 4) for a in (2, 3))
                fa, fb = (quarter_mean(rows, name, "fvu", s * a // 4, s * (a + 1) // 4) for a in (2, 3))
                dead = quarter_mean(rows, name, "dead_fraction", s * 3 // 4, s)
                l0_change = abs(l0b - l0a) / l0a if l0a > 0 else math.nan
                ok = l0_change <= L0_REL and abs(fb - fa) <= FVU_ABS
                pairs = pw = ""
                if "-seed-" in name:
                    ratio = name.split("-seed-")[0]
                    mid, end = pair_mmcs(work, run, s * 3 // 4, ratio), pair_mmcs(work, run, s, ratio)
                    if mid and mid.keys() == end.keys():
                        ok = ok and all(abs(end[p][0] - mid[p][0]) <= MMCS_ABS for p in mid)
                        mean = lambda v: sum(v) / len(v)
                        pairs = f"{mean([v[0] for v in mid.values()]):.3f} -> {mean([v[0] for v in end.values()]):.3f} ({len(end)})"
                        pw = f"{mean([v[1] for v in end.values()]):.3f}"
                    else:
                        ok, pairs = False, "(not compared)"
                print(f"| {run}: {args} | {name} | {s} | {l0a:.1f} -> {l0b:.1f} | {100 * l0_change:.1f}% | {fa:.4f} -> {fb:.4f} "
                      f"| {100 * dead:.2f}% | {pairs} | {pw} | {'yes' if ok else 'no'} |")


if __name__ == "__main__":
    main()
