package io.sae4j.bench;

import io.sae4j.sae.SparseAutoencoder;
import java.util.Arrays;

/** A fresh SAE made as sparse as a trained one, for benchmarks of the sparse paths. */
final class Sparsify {
    private Sparsify() {}

    /**
     * Sets b_enc to minus the (1 - fraction) quantile of the SAE's pre-activations on x (rows, d),
     * so that about that fraction of its latents fire on x.
     */
    static void toDensity(SparseAutoencoder sae, float[] x, int rows, double fraction) {
        float[] f = sae.run(x, rows).latents(); // relu of the pre-activations, b_enc = 0
        float[] pos = new float[f.length];
        int k = 0;
        for (float v : f) if (v > 0) pos[k++] = v;
        float[] sorted = Arrays.copyOf(pos, k);
        Arrays.sort(sorted);
        float q = sorted[(int) Math.max(0, sorted.length - fraction * f.length)];
        float[] bEnc = new float[sae.dSae()];
        Arrays.fill(bEnc, -q);
        sae.backend().upload(bEnc, 0, sae.bEncBuf(), 0, bEnc.length);
    }
}
