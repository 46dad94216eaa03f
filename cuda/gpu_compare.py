#!/usr/bin/env python3
"""Checks that the CUDA backend trains and compares like the CPU backend (cuda/gpu-check.sh).

    gpu_compare.py WORK_DIR

WORK_DIR holds run-cpu/ and run-cuda/ (train on the same synthetic data, same seeds) and
cmp-{cpu,cuda}-{2,8}.json (compare of the CPU-trained against the CUDA-trained SAE of each ratio,
once per backend). Passes when (1) both backends compute the same comparison numbers (within
float32 and TF32-free summation differences), (2) the two trainings end at the same loss within
5% and learn the same dictionary (MMCS both ways above 0.9: identical starts and data, only
rounding differs, dead latents resampled and lambda adapted to L0 8 alike), printing every number it judges.
"""
import csv
import json
import sys
from pathlib import Path


def final_losses(run):
    rows = list(csv.DictReader(open(run / "train_log.csv")))
    last = int(rows[-1]["step"])
    return {r["name"]: float(r["loss"]) for r in rows if int(r["step"]) == last}


def main(work):
    work = Path(work)
    bad = []
    for r in (2, 8):
        cpu = json.load(open(work / f"cmp-cpu-{r}.json"))
        gpu = json.load(open(work / f"cmp-cuda-{r}.json"))
        for key, v in cpu.items():
            w = gpu.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                tol = 2e-3 * max(1.0, abs(v)) if key.startswith(("l0", "fvu")) else 2e-3
                ok = w is not None and abs(w - v) <= tol
                print(f"ratio {r} {key}: cpu {v:.6g} cuda {w} {'ok' if ok else 'DIFFERS'}")
                if not ok:
                    bad.append(f"ratio {r} {key}")
        for key in ("hungarian_certified",):
            if cpu.get(key) is not True or gpu.get(key) is not True:
                bad.append(f"ratio {r} {key}: cpu {cpu.get(key)} cuda {gpu.get(key)}")
        for key in ("mmcs_ab", "mmcs_ba"):
            if cpu[key] < 0.9:
                bad.append(f"ratio {r} {key} {cpu[key]:.3f} < 0.9 between the CPU- and CUDA-trained SAEs")
    lc, lg = final_losses(work / "run-cpu"), final_losses(work / "run-cuda")
    for name, v in lc.items():
        rel = abs(lg[name] - v) / v
        print(f"{name} final loss: cpu {v:.6g} cuda {lg[name]:.6g} (relative difference {rel:.3g})")
        if rel > 0.05:
            bad.append(f"{name} final loss differs by {rel:.1%}")
    for run in ("run-cpu", "run-cuda"):  # resampling (every 100 steps) takes discrete decisions: report them
        for cfg in sorted((work / run).glob("ratio-*/cfg.json")):
            fin = json.load(open(cfg))["sae4j"]["final"]
            print(f"{run} {cfg.parent.name}: resampled {fin.get('resampled')}, dead fraction {fin.get('dead_fraction')}, "
                  f"L0 {fin.get('l0')}, lambda adapted to {fin.get('l1_coefficient')}")
    if bad:
        print("FAILED: " + "; ".join(bad))
        return 1
    print("CUDA matches CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
