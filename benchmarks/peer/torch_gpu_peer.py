#!/usr/bin/env python3
"""PyTorch GPU peer for benchmarks/RESULTS.md (run by cuda/gpu-check.sh on the GPU machine): the same
ReLU-L1 SAE Adam step as sae4j's TrainStepBenchmark (B=4096, d in {512, 2048}, m in {8d, 32d}, a
fresh SAE and one where 1% of the latents fire) and the same MMCS as CosineMatchBenchmark, eager and
under torch.compile, on the same GPU in the same call.

    python3 benchmarks/peer/torch_gpu_peer.py OUT.json

Adam is torch's fused CUDA Adam (its fastest). float32 matmuls unless a record says tf32.
"""
import json
import sys
import time

import torch

DEV = "cuda"


def timed(fn, warmup=3, reps=7):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0] * 1e3, times[len(times) // 2] * 1e3


def sae_setup(B, d, m, density):
    g = torch.Generator(device=DEV).manual_seed(0)
    x = torch.rand(B, d, device=DEV, generator=g) * 2 - 1
    w_dec = torch.nn.functional.normalize(torch.randn(m, d, device=DEV, generator=g), dim=1) * 0.1
    w_enc = w_dec.t().clone().requires_grad_(True)
    w_dec.requires_grad_(True)
    b_enc = torch.zeros(m, device=DEV, requires_grad=True)
    b_dec = torch.zeros(d, device=DEV, requires_grad=True)
    if density is not None:  # about `density` of the latents fire, as sae4j's benchmark arranges
        with torch.no_grad():
            pre = ((x - b_dec) @ w_enc).flatten()
            k = max(1, int(density * pre.numel()))
            b_enc -= torch.topk(pre, k).values[-1]
    return x, [w_enc, b_enc, w_dec, b_dec]


def loss_fn(x, w_enc, b_enc, w_dec, b_dec, lam):
    f = torch.relu((x - b_dec) @ w_enc + b_enc)
    xh = f @ w_dec + b_dec
    return (xh - x).pow(2).sum(-1).mean() + lam * (f * w_dec.norm(dim=1)).sum(-1).mean()


def sae_step(B, d, m, density, compiled):
    x, params = sae_setup(B, d, m, density)
    opt = torch.optim.Adam(params, lr=1e-7, fused=True)
    loss = torch.compile(loss_fn) if compiled else loss_fn

    def step():
        opt.zero_grad(set_to_none=True)
        loss(x, *params, 1e-3).backward()
        opt.step()
    result = timed(step)
    del x, params, opt
    torch.cuda.empty_cache()
    return result


def mmcs(m1, m2, d, chunk=8192):
    g = torch.Generator(device=DEV).manual_seed(1)
    a = torch.rand(m1, d, device=DEV, generator=g) * 2 - 1
    b = torch.rand(m2, d, device=DEV, generator=g) * 2 - 1

    def run():
        an = torch.nn.functional.normalize(a, dim=1)
        bn = torch.nn.functional.normalize(b, dim=1)
        row = torch.empty(m1, device=DEV)
        col = torch.full((m2,), -2.0, device=DEV)
        for i in range(0, m1, chunk):
            c = an[i:i + chunk] @ bn.t()
            row[i:i + chunk] = c.max(dim=1).values
            col = torch.maximum(col, c.max(dim=0).values)
        return row.mean(), col.mean()
    return timed(run, warmup=2, reps=5)


def main(out):
    torch.backends.cudnn.allow_tf32 = False
    records = []
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)

    def add(what, precision, mode, best, median, **shape):
        rec = dict(what=what, precision=precision, mode=mode, best_ms=best, median_ms=median, **shape)
        records.append(rec)
        print(json.dumps(rec), flush=True)

    def save():  # after every record: a run stopped at its time limit keeps what it measured
        json.dump(dict(torch=torch.__version__, gpu=torch.cuda.get_device_name(), records=records), open(out, "w"),
                  indent=1)

    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        prec = "tf32" if tf32 else "fp32"
        best, med = mmcs(16384, 16384, 512)
        add("mmcs", prec, "eager", best, med, m1=16384, m2=16384, d=512)
        save()
        shapes = [(512, 8), (512, 32), (2048, 8), (2048, 32)] if not tf32 else [(2048, 32)]
        for d, ratio in shapes:
            for compiled in (False, True):
                # A dense step costs the same at any density (H200, 2026-11-28: 2.89/2.90, 10.51/10.54,
                # 35.37/35.26 ms for init/0.01), so only a trained SAE's density is measured.
                best, med = sae_step(4096, d, ratio * d, 0.01, compiled)
                add("train_step", prec, "compile" if compiled else "eager", best, med, B=4096, d=d, m=ratio * d,
                    density=0.01)
                save()

if __name__ == "__main__":
    main(sys.argv[1])
