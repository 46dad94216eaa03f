#!/usr/bin/python3
"""PyTorch CPU peer for benchmarks/RESULTS.md: the same ReLU-L1 SAE Adam step and the same MMCS as
sae4j's TrainStepBenchmark / CosineMatchBenchmark, timed on the same machine in the same session.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/peer/torch_peer.py

Debian's python3-torch (1.13) and python3-numpy; threads = all cores, as sae4j uses.
"""
import os
import time

import numpy as np
import torch


def best_of(fn, reps):
    fn()  # warm up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), sorted(times)[len(times) // 2]


def sae_step(B, d, m, density):
    torch.manual_seed(0)
    x = torch.rand(B, d) * 2 - 1
    w_dec = torch.nn.functional.normalize(torch.randn(m, d), dim=1) * 0.1
    w_enc = w_dec.t().clone().requires_grad_(True)
    w_dec.requires_grad_(True)
    b_enc = torch.zeros(m, requires_grad=True)
    b_dec = torch.zeros(d, requires_grad=True)
    if density is not None:  # shift b_enc so that about `density` of the latents fire, as sae4j's benchmark does
        with torch.no_grad():
            pre = (x - b_dec) @ w_enc
            b_enc -= torch.quantile(pre.flatten()[:1 << 24], 1 - density)
    opt = torch.optim.Adam([w_enc, b_enc, w_dec, b_dec], lr=1e-7)
    lam = 1e-3

    def step():
        opt.zero_grad(set_to_none=True)
        f = torch.relu((x - b_dec) @ w_enc + b_enc)
        xh = f @ w_dec + b_dec
        loss = (xh - x).pow(2).sum(-1).mean() + lam * (f * w_dec.norm(dim=1)).sum(-1).mean()
        loss.backward()
        opt.step()
    return best_of(step, 5)


def mmcs(m1, m2, d, chunk=4096):
    torch.manual_seed(1)
    a = torch.rand(m1, d) * 2 - 1
    b = torch.rand(m2, d) * 2 - 1

    def run():
        an = torch.nn.functional.normalize(a, dim=1)
        bn = torch.nn.functional.normalize(b, dim=1)
        row = torch.full((m1,), -2.0)
        col = torch.full((m2,), -2.0)
        for i in range(0, m1, chunk):
            c = an[i:i + chunk] @ bn.t()
            row[i:i + chunk] = c.max(dim=1).values
            col = torch.maximum(col, c.max(dim=0).values)
        return row.mean(), col.mean()
    return best_of(run, 3)


def sgemm(n):
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    return best_of(lambda: a @ b, 3)


if __name__ == "__main__":
    torch.set_num_threads(os.cpu_count())  # Debian's build starts with 1 here
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    t, med = sgemm(4096)
    print(f"numpy sgemm 4096^3: {t * 1e3:.1f} ms ({2 * 4096 ** 3 / t / 1e9:.0f} GFLOP/s)")
    for density in (None, 0.01):
        t, med = sae_step(4096, 512, 4096, density)
        print(f"SAE step B=4096 d=512 m=4096 density={'init' if density is None else density}: "
              f"best {t * 1e3:.0f} ms, median {med * 1e3:.0f} ms ({4096 / t:.0f} tokens/s)")
    t, med = mmcs(16384, 16384, 512)
    print(f"MMCS 16384 x 16384 x 512: best {t * 1e3:.0f} ms, median {med * 1e3:.0f} ms "
          f"({2 * 16384 * 16384 * 512 / t / 1e9:.0f} GFLOP/s)")
