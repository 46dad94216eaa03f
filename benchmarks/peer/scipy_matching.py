#!/usr/bin/env python3
"""SciPy peer of sae4j's certified matching (io.sae4j.bench.LargeMatching) for benchmarks/RESULTS.md:
the tool users reach for today (sae_overlap does the same) forms the dense cosine matrix with numpy
and runs scipy.optimize.linear_sum_assignment on it. Same kind of pair as LargeMatching (half of
b's rows noisy copies of a's, shuffled, noise 0.5; the rest independent; Gaussian entries).

    python3 benchmarks/peer/scipy_matching.py N [D]     (prints one JSON line)

At N = 131072 the float32 matrix alone is 64 GiB (SciPy works on a float64 copy: 128 GiB); the
script reports the allocation it could not make instead of trying.
"""
import json
import os
import sys
import time

import numpy as np
import scipy
from scipy.optimize import linear_sum_assignment


def main(n, d):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((n, d), dtype=np.float32)
    perm = rng.permutation(n)
    b = rng.standard_normal((n, d), dtype=np.float32)
    half = n // 2
    b[:half] = a[perm[:half]] + 0.5 * rng.standard_normal((half, d), dtype=np.float32)
    need = n * n * (4 + 8)  # the float32 matrix and SciPy's float64 copy
    avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    out = {"n": n, "d": d, "scipy": scipy.__version__, "numpy": np.__version__,
           "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}
    if need > avail:
        out["result"] = f"not run: the dense matrices need {need / 2**30:.0f} GiB, {avail / 2**30:.0f} GiB free"
        print(json.dumps(out))
        return
    t0 = time.perf_counter()
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    c = a @ b.T
    t1 = time.perf_counter()
    rows, cols = linear_sum_assignment(c, maximize=True)
    t2 = time.perf_counter()
    out.update(cosine_matrix_s=round(t1 - t0, 2), lsa_s=round(t2 - t1, 2), total_s=round(t2 - t0, 2),
               signed_mean=float(c[rows, cols].mean()))
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 512)
