package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.AdamState;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Resampling of dead latents: what it writes, how it draws, and that it keeps latents alive. */
class DeadLatentResamplingTest {
    static CpuBackend be;

    @BeforeAll
    static void start() {
        be = new CpuBackend();
    }

    @AfterAll
    static void stop() {
        be.close();
    }

    static double norm(float[] a, int off, int n) {
        double s = 0;
        for (int k = 0; k < n; k++) s += (double) a[off + k] * a[off + k];
        return Math.sqrt(s);
    }

    @Test
    void resampledLatentsGetBatchDirectionsLiveNormsZeroBiasAndLiveMoments() {
        int d = 8, m = 16, rows = 32;
        SaeConfig cfg = SaeConfig.builder().setDIn(d).setDSae(m).optL1Coefficient(0.1).optSeed(3).build();
        SplittableRandom rng = new SplittableRandom(11);
        float[] x = new float[rows * d], bDec = new float[d];
        for (int i = 0; i < x.length; i++) x[i] = (float) SyntheticData.gaussian(rng);
        for (int k = 0; k < d; k++) bDec[k] = (float) (0.3 * SyntheticData.gaussian(rng));
        try (SparseAutoencoder sae = SparseAutoencoder.initialize(cfg, be);
             AdamState moments = AdamState.zeros(be, sae.parameters().length());
             Workspace ws = be.workspace(WorkspaceSpec.training(rows, d, m))) {
            // uneven live norms and non-zero moments, so "mean of the live rows" and "reset" are visible
            float[] p = be.download(sae.parameters());
            for (int i = 0; i < p.length; i++) p[i] *= (float) (1 + rng.nextDouble());
            sae.setParameters(p);
            sae.setDecoderBias(bDec);
            float[] m1 = new float[p.length], m2 = new float[p.length];
            java.util.Arrays.fill(m1, 0.5f);
            for (int i = 0; i < m2.length; i++) m2[i] = (float) (0.25 * rng.nextDouble());
            be.upload(m1, 0, moments.m1(), 0, m1.length);
            be.upload(m2, 0, moments.m2(), 0, m2.length);
            be.upload(x, 0, ws.input(), 0, x.length);
            float[] before = be.download(sae.parameters());

            int[] dead = {3, 7, 12};
            int[] done = DeadLatentResampler.resample(sae, moments, ws, x, rows, dead, 99);
            assertArrayEquals(dead, done);
            float[] after = be.download(sae.parameters()), a1 = be.download(moments.m1()), a2 = be.download(moments.m2());
            int bEncOff = m * d, decOff = m * d + m;
            Set<Integer> deadSet = Set.of(3, 7, 12);
            double encLive = 0, decLive = 0;
            for (int j = 0; j < m; j++)
                if (!deadSet.contains(j)) {
                    encLive += norm(before, j * d, d) / (m - 3);
                    decLive += norm(before, decOff + j * d, d) / (m - 3);
                }
            double m2Enc = 0, m2Dec = 0, m2Bias = 0; // live latents' mean second moment, per tensor
            for (int j = 0; j < m; j++)
                if (!deadSet.contains(j)) {
                    for (int k = 0; k < d; k++) {
                        m2Enc += m2[j * d + k] / ((m - 3) * d);
                        m2Dec += m2[decOff + j * d + k] / ((m - 3) * d);
                    }
                    m2Bias += m2[bEncOff + j] / (m - 3);
                }
            Set<Integer> usedRows = new HashSet<>();
            for (int j = 0; j < m; j++) {
                boolean isDead = deadSet.contains(j);
                for (int off : new int[] {j * d, decOff + j * d})
                    for (int k = 0; k < d; k++) {
                        if (!isDead) assertEquals(before[off + k], after[off + k], "live latent " + j + " unchanged");
                        assertEquals(isDead ? 0f : 0.5f, a1[off + k], "m1 of latent " + j);
                        double want = isDead ? (off < bEncOff ? m2Enc : m2Dec) : m2[off + k];
                        assertEquals(want, a2[off + k], 1e-6 * want, "m2 of latent " + j + ": its own, or the live mean when resampled");
                    }
                assertEquals(isDead ? m2Bias : m2[bEncOff + j], a2[bEncOff + j], 1e-6, "m2 of b_enc " + j);
                if (!isDead) continue;
                assertEquals(0f, after[bEncOff + j], "b_enc of a resampled latent");
                assertEquals(decLive, norm(after, decOff + j * d, d), 1e-5 * decLive, "decoder norm = mean live norm");
                assertEquals(0.2 * encLive, norm(after, j * d, d), 1e-5 * encLive, "encoder norm = 0.2 x mean live norm");
                // the direction is one batch row minus b_dec, the same for encoder and decoder
                int match = -1;
                for (int r = 0; r < rows; r++) {
                    double dot = 0, nn = 0;
                    for (int k = 0; k < d; k++) {
                        double v = x[r * d + k] - bDec[k];
                        dot += v * after[decOff + j * d + k];
                        nn += v * v;
                    }
                    if (dot / Math.sqrt(nn) / norm(after, decOff + j * d, d) > 1 - 1e-6) match = r;
                    double de = 0;
                    for (int k = 0; k < d; k++) de += after[decOff + j * d + k] * after[j * d + k];
                    assertTrue(de > 0, "encoder and decoder rows point the same way");
                }
                assertTrue(match >= 0, "latent " + j + "'s direction is a centred batch row");
                assertTrue(usedRows.add(match), "two latents got the same row " + match);
            }
            for (int k = 0; k < d; k++) assertEquals(bDec[k], after[2 * m * d + m + k], "b_dec unchanged");
        }
    }

    @Test
    void drawsFollowTheSquaredWeightsWithoutRepeats() {
        SplittableRandom rng = new SplittableRandom(1);
        int firstIsOne = 0, trials = 20_000;
        for (int t = 0; t < trials; t++)
            if (DeadLatentResampler.weightedWithoutReplacement(new double[] {1, 2}, 1, rng)[0] == 1) firstIsOne++;
        assertEquals(0.8, (double) firstIsOne / trials, 0.015, "P(index 1) = 2^2 / (1^2 + 2^2)");

        int[] all = DeadLatentResampler.weightedWithoutReplacement(new double[] {0, 3, 0, 1, 2}, 5, rng);
        assertEquals(Set.of(0, 1, 2, 3, 4), new HashSet<>(List.of(all[0], all[1], all[2], all[3], all[4])), "no repeats");
        assertArrayEquals(new int[] {0, 2}, new int[] {all[3], all[4]}, "zero weights come last, in index order");
    }

    /** Latents that fire on none of {@code rows} fresh rows of the source. */
    static int neverFiring(SparseAutoencoder sae, SyntheticData src, int rows) throws Exception {
        float[] x = new float[rows * sae.dIn()];
        src.next(x, rows);
        float[] f = sae.run(x, rows).latents();
        boolean[] fired = new boolean[sae.dSae()];
        for (int i = 0; i < f.length; i++) if (f[i] > 0) fired[i % sae.dSae()] = true;
        int dead = 0;
        for (boolean b : fired) if (!b) dead++;
        return dead;
    }

    /**
     * Trains a 1:4 SAE on synthetic data (64 true features in d 16) whose odd latents start dead (an
     * encoder bias of -100: no input reaches them, so no gradient ever does), and counts the latents
     * that then fire on none of 20k fresh rows, and those resampled.
     */
    static int[] trainAndCountDead(long resampleEvery) throws Exception {
        SyntheticData.Spec spec = new SyntheticData.Spec(16, 64, 3, 0.98, 0, 1, 0.01, 5);
        SaeConfig cfg = SaeConfig.builder().setDIn(16).setRatio(4).optL1Coefficient(0.3).optSeed(4).build();
        TrainConfig tc = TrainConfig.builder().setSteps(400).optBatchSize(256).optLr(1e-2).optLogEvery(20)
                .optResampleEvery(resampleEvery).build();
        SparseAutoencoder sae = SparseAutoencoder.initialize(cfg, be);
        float[] p = be.download(sae.parameters());
        int m = sae.dSae(), d = sae.dIn();
        for (int j = 1; j < m; j += 2) p[m * d + j] = -100;
        sae.setParameters(p);
        try (Trainer t = new Trainer(List.of(sae), tc); SyntheticData src = new SyntheticData(spec)) {
            t.run(src, Trainer.Listener.NONE);
            return new int[] {neverFiring(sae, new SyntheticData(spec), 20_000), (int) t.resampled(0)};
        } finally {
            sae.close();
        }
    }

    @Test
    void resamplingRevivesDeadLatents() throws Exception {
        int[] without = trainAndCountDead(0), with = trainAndCountDead(25);
        assertEquals(0, without[1], "nothing resampled when off");
        assertTrue(without[0] >= 32, "the 32 latents that start dead stay dead without resampling: " + without[0]);
        assertTrue(with[1] >= 32, "at least the 32 dead latents were resampled: " + with[1]);
        assertTrue(with[0] <= 8, "resampling revives them: " + with[0] + " of 64 dead, " + without[0] + " without");
    }
}
