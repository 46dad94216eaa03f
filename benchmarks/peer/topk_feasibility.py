#!/usr/bin/env python3
"""A plain numpy TopK SAE trainer (Gao et al. 2024: keep the k largest pre-activations, then ReLU;
decoder rows held at unit norm, their gradient's radial part removed), for benchmarks/RESULTS.md
(issue 12): whether an SAE whose L0 is fixed by construction settles within the study's budget, and
how many of its latents die, before sae4j trains TopK itself. Adam with the trainer's schedule (5%
warmup, linear decay over the last 20%); FVU per batch as sae4j's training log has it.

    python3 benchmarks/peer/topk_feasibility.py TRAIN.npy HELD.npy RATIO K LR STEPS BATCH [DEAD_TOKENS]

DEAD_TOKENS > 0 adds AuxK (Gao et al. 2024, section A.2): latents that have not fired in the last
DEAD_TOKENS training tokens are dead; the d/2 largest ReLU pre-activations among them reconstruct
the main reconstruction's residual (no b_dec), with loss coefficient 1/32.

prints the training FVU at 75% of the steps and at the end (means over 50 steps), and the held-out
FVU and dead fraction.
"""
import sys
import time

import numpy as np

train, held = sys.argv[1], sys.argv[2]
ratio, k, lr, steps, B = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
dead_tokens = int(sys.argv[8]) if len(sys.argv) > 8 else 0
X = np.load(train); H = np.load(held)
n, d = X.shape; m = ratio * d
rng = np.random.default_rng(42)
Wd = rng.standard_normal((m, d)).astype(np.float32); Wd /= np.linalg.norm(Wd, axis=1, keepdims=True)
We = Wd.T.copy(); be = np.zeros(m, np.float32); bd = X[:B].mean(0).astype(np.float32)
params = [We, be, Wd, bd]; M1 = [np.zeros_like(p) for p in params]; M2 = [np.zeros_like(p) for p in params]
b1, b2, eps = 0.9, 0.999, 1e-8
def encode(x):
    pre = (x - bd) @ We + be
    idx = np.argpartition(-pre, k, axis=1)[:, :k]
    val = np.maximum(np.take_along_axis(pre, idx, 1), 0)
    return idx, val
def decode(idx, val):
    xh = np.zeros((idx.shape[0], d), np.float32)
    for j in range(k): xh += val[:, j:j+1] * Wd[idx[:, j]]
    return xh + bd
perm = rng.permutation(n); pos = 0; log = []; acc = [0, 0, 0]; t0 = time.time()
last_fired = np.zeros(m, np.int64); aux_log = []
for t in range(1, steps + 1):
    if pos + B > n: perm = rng.permutation(n); pos = 0
    x = X[perm[pos:pos + B]]; pos += B
    idx, val = encode(x); xh = decode(idx, val); err = xh - x
    mse = (err ** 2).sum(1).mean(); var = ((x - x.mean(0)) ** 2).sum(1).mean()
    g_err = 2 * err / B
    # grads
    gWd = np.zeros_like(Wd); gpre_val = np.zeros_like(val)
    for j in range(k):
        np.add.at(gWd, idx[:, j], val[:, j:j+1] * g_err)
        gpre_val[:, j] = (g_err * Wd[idx[:, j]]).sum(1) * (val[:, j] > 0)
    gbd = g_err.sum(0)
    gpre = np.zeros((B, m), np.float32); np.put_along_axis(gpre, idx, gpre_val, 1)
    gWe = (x - bd).T @ gpre; gbe = gpre.sum(0); gbd -= (gpre @ We.T).sum(0)  # b_dec also enters through x - b_dec
    last_fired[idx[val > 0]] = t
    D = np.flatnonzero((t - last_fired) * B >= dead_tokens) if dead_tokens > 0 else []
    if len(D) > 0:  # AuxK: the dead latents' top d/2 reconstruct the residual x - xhat (held fixed)
        ka = min(d // 2, len(D)); alpha = 1 / 32
        preD = np.maximum((x - bd) @ We[:, D] + be[D], 0)
        ia = np.argpartition(-preD, ka - 1, axis=1)[:, :ka]
        A = np.zeros_like(preD); np.put_along_axis(A, ia, np.take_along_axis(preD, ia, 1), 1)
        r = A @ Wd[D] + err  # ehat - e with e = x - xhat = -err
        aux_log.append(alpha * (r ** 2).sum(1).mean())
        g_r = 2 * alpha * r / B
        gA = (g_r @ Wd[D].T) * (A > 0)
        gWd[D] += A.T @ g_r; gWe[:, D] += (x - bd).T @ gA; gbe[D] += gA.sum(0); gbd -= (gA @ We[:, D].T).sum(0)
    gWd -= (gWd * Wd).sum(1, keepdims=True) * Wd  # remove the part along each unit row
    f = min(1, t / (steps / 20)); ds = steps - int(0.2 * steps)
    if t > ds: f = min(f, (steps - t + 1) / (steps - ds + 1))
    for p, g, a, v in zip(params, [gWe, gbe, gWd, gbd], M1, M2):
        a *= b1; a += (1 - b1) * g; v *= b2; v += (1 - b2) * g * g
        p -= lr * f * (a / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    Wd /= np.linalg.norm(Wd, axis=1, keepdims=True)
    acc[0] += mse; acc[1] += var; acc[2] += 1
    if t % 50 == 0:
        log.append((t, acc[0] / acc[1])); acc = [0, 0, 0]
fired = np.zeros(m, bool); se = 0
for s in range(0, len(H), 4096):
    h = H[s:s + 4096]; idx, val = encode(h); fired[idx[val > 0]] = True; se += ((decode(idx, val) - h) ** 2).sum()
fvu = se / ((H - H.mean(0)) ** 2).sum()
mid = [f for s, f in log if s == int(0.75 * steps / 50) * 50][0]
print(f"ratio {ratio} k {k} lr {lr}: train FVU 75% {mid:.4f} end {log[-1][1]:.4f} (change {mid - log[-1][1]:.4f}); held-out FVU {fvu:.4f}, dead {100 * (1 - fired.mean()):.2f}%, {time.time() - t0:.0f} s")
print(' '.join(f"{s}:{f:.3f}" for s, f in log))
if dead_tokens > 0: print(f"AuxK at {len(aux_log)} steps; dead at the end {len(D)}; aux loss first {aux_log[0] if aux_log else 0:.4f} last {aux_log[-1] if aux_log else 0:.4f}")
