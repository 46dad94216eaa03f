package io.sae4j.backend;

import static io.sae4j.backend.BackendKernelsTest.SENTINEL;
import static io.sae4j.backend.BackendKernelsTest.TENSORS;
import static io.sae4j.backend.BackendKernelsTest.assertClose;
import static io.sae4j.backend.BackendKernelsTest.guarded;
import static io.sae4j.backend.BackendKernelsTest.support;
import static io.sae4j.backend.BackendKernelsTest.with;
import static io.sae4j.backend.BackendKernelsTest.written;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sae4j.backend.BackendKernelsTest.Case;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * AuxK (TopK training's loss on dead latents) against the double reference, whose gradient is in
 * turn checked by central differences of its loss; on both latent paths of the main pass, with
 * k_aux below and above the dead count, and with poisoned guards past every output.
 */
class AuxKTest {
    static List<TestBackends.Config> backends() {
        return TestBackends.all();
    }

    static final int K = 5;
    static final double ALPHA = 1; // linear in alpha; 1 keeps the aux gradient comparable to the main one

    /** Every third latent, and the last: ascending, spread over the whole range. */
    static int[] deadLatents(int m) {
        return IntStream.range(0, m).filter(i -> i % 3 == 1 || i == m - 1).toArray();
    }

    /**
     * {aux loss, gW_encT, gb_enc, gW_dec, gb_dec} after encode, decode, backward and AuxK on the
     * backend; firedSince (may be null) marks latents as fired since the dead list was made. The
     * scratch is sized for exactly this dead count, with a guard after it.
     */
    static Object[] run(Backend be, Case c, LatentStorage storage, int[] dead, int kAux, int[] firedSince) {
        long n = SaeTensors.count(c.d, c.m);
        WorkspaceSpec exact = new WorkspaceSpec(c.B, c.d, Math.max(1, dead.length), storage, true);
        long scratchFloats = be.auxKScratchFloats(exact, kAux);
        try (Workspace ws = c.workspace(be, storage, true); StepStats stats = new StepStats(be, 3, c.m);
             IntBuf deadBuf = be.allocateInts(dead.length + 1); IntBuf firing = be.allocateInts(c.m);
             FloatBuf scratch = guarded(be, scratchFloats); FloatBuf g = guarded(be, n);
             FloatBuf params = be.upload(c.flat())) {
            SaeTensors p = SaeTensors.view(params, c.d, c.m), grads = SaeTensors.view(g, c.d, c.m);
            be.upload(dead, 0, deadBuf, 0, dead.length);
            be.fill(firing, 0);
            if (firedSince != null) for (int i : firedSince) be.upload(new int[] {2}, 0, firing, i, 1);
            be.fill(stats.lossesBuffer(), SENTINEL);
            Activation act = Activation.topK(K);
            be.encode(p, act, ws, c.B, stats.at(1));
            be.decode(p, ws, c.B);
            be.backward(p, act, 0f, grads, ws, c.B, stats.at(1));
            be.auxKBackward(p, new AuxK(deadBuf, dead.length, kAux, (float) ALPHA, scratch, firedSince == null ? null : firing),
                    grads, ws, c.B, stats.at(1));
            float[] losses = be.download(stats.lossesBuffer());
            int at = StepStats.LOSSES + 2;
            for (int i = 0; i < losses.length; i++)
                if (i != at && i != at - 1 && i != at - 2) assertEquals(SENTINEL, losses[i], "loss " + i + " outside slot 1");
            written(be, scratch, (int) scratchFloats, "AuxK scratch " + storage);
            float[] all = written(be, g, (int) n, "gradients " + storage);
            int m = c.m, d = c.d;
            return new Object[] {losses[at], Arrays.copyOfRange(all, 0, m * d), Arrays.copyOfRange(all, m * d, m * d + m),
                    Arrays.copyOfRange(all, m * d + m, 2 * m * d + m), Arrays.copyOfRange(all, 2 * m * d + m, 2 * m * d + m + d)};
        }
    }

    /** The backend's loss and gradients (main + AuxK) against the reference's, on both latent paths. */
    static void assertMatchesReference(Backend be, TestBackends.Config cfg, Case c, int[] dead, int kAux, int[] firedSince,
                                       String what) {
        Reference.Sae ref = c.ref();
        int[] taking = firedSince == null ? dead
                : Arrays.stream(dead).filter(i -> Arrays.stream(firedSince).noneMatch(f -> f == i)).toArray();
        double[] e = Reference.residual(ref, c.x, c.B, K);
        double[][] main = Reference.gradients(ref, c.x, c.B, 0, K), aux = Reference.auxGradients(ref, c.x, c.B, taking, kAux, ALPHA, e);
        double loss = Reference.auxLoss(ref, c.x, c.B, taking, kAux, ALPHA, e);
        for (LatentStorage storage : new LatentStorage[] {LatentStorage.DENSE, LatentStorage.SPARSE}) {
            String tag = what + " k_aux " + kAux + " " + storage + " " + cfg;
            Object[] out = run(be, c, storage, dead, kAux, firedSince);
            assertEquals(loss, (float) out[0], 1e-5 * cfg.tolerance() * loss, "aux loss " + tag);
            assertGradientsSum(main, aux, out, cfg, tag);
        }
    }

    /** run()'s gradients against the main backward's reference plus AuxK's. */
    static void assertGradientsSum(double[][] main, double[][] aux, Object[] out, TestBackends.Config cfg, String tag) {
        for (int t = 0; t < 4; t++) {
            double[] sum = main[t].clone();
            for (int i = 0; i < sum.length; i++) sum[i] += aux[t][i];
            assertClose(sum, (float[]) out[t + 1], 1e-4 * cfg.tolerance(), TENSORS[t] + " " + tag);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void matchesReferenceWhoseGradientMatchesFiniteDifferences(TestBackends.Config cfg) {
        Random r = new Random(31);
        try (Backend be = cfg.open()) {
            assumeTrue(be.supportsAuxK(), "the " + be.name() + " backend has no AuxK yet");
            Case c = new Case(r, 23, 24, 48, 0.3);
            Reference.Sae ref = c.ref();
            int[] dead = deadLatents(c.m);
            double[] e = Reference.residual(ref, c.x, c.B, K);
            for (int kAux : new int[] {4, dead.length + 3}) {
                if (kAux < dead.length) { // the selection must cut: most rows have more positive dead latents than k_aux
                    double[] all = Reference.auxActivations(ref, c.x, c.B, dead, dead.length);
                    long cut = IntStream.range(0, c.B).filter(b -> Arrays.stream(all, b * dead.length, (b + 1) * dead.length)
                            .filter(v -> v > 0).count() > kAux).count();
                    assertTrue(cut > c.B / 2, "rows where k_aux cuts: " + cut + " of " + c.B);
                }
                double[][] aux = Reference.auxGradients(ref, c.x, c.B, dead, kAux, ALPHA, e);
                assertMatchesReference(be, cfg, c, dead, kAux, null, "");
                // the reference's chain rule against central differences of its loss (e held fixed)
                float[][] params = {c.wEncT, c.bEnc, c.wDec, c.bDec};
                double h = 1e-4;
                for (int t = 0; t < 4; t++) {
                    double scale = Arrays.stream(aux[t]).map(Math::abs).max().orElse(0);
                    assertTrue(scale > 0, TENSORS[t] + ": the aux gradient must not vanish");
                    int trial = 0;
                    for (int tried = 0; trial < 12 && tried < 200; tried++) {
                        int i = r.nextInt(params[t].length);
                        Reference.Sae up = with(c, t, i, params[t][i] + h), down = with(c, t, i, params[t][i] - h);
                        if (!Arrays.equals(support(Reference.auxActivations(up, c.x, c.B, dead, kAux)),
                                support(Reference.auxActivations(down, c.x, c.B, dead, kAux))))
                            continue; // the perturbation changed a selection: no derivative there
                        double fd = (Reference.auxLoss(up, c.x, c.B, dead, kAux, ALPHA, e)
                                - Reference.auxLoss(down, c.x, c.B, dead, kAux, ALPHA, e)) / (2 * h);
                        assertEquals(fd, aux[t][i], 1e-6 * Math.max(1, Math.abs(fd)) + 1e-4 * scale,
                                "aux " + TENSORS[t] + "[" + i + "] k_aux " + kAux);
                        trial++;
                    }
                    assertTrue(trial >= 6, TENSORS[t] + ": only " + trial + " entries kept their selection under the perturbation");
                }
            }
        }
    }

    /**
     * Sizes where every pool thread of the 7-thread configuration gets a range of the dead list and
     * of the rows; and latents marked as fired since the list was made, which must take no part.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void matchesReferenceAcrossThreadsAndLeavesOutLatentsThatFired(TestBackends.Config cfg) {
        Random r = new Random(34);
        try (Backend be = cfg.open()) {
            assumeTrue(be.supportsAuxK(), "the " + be.name() + " backend has no AuxK yet");
            Case c = new Case(r, 120, 16, 345, 0.3);
            int[] dead = deadLatents(c.m);
            assertTrue(dead.length >= 112, "dead latents: " + dead.length);
            assertMatchesReference(be, cfg, c, dead, 6, null, "threads");
            assertMatchesReference(be, cfg, c, Arrays.copyOf(dead, 20), 6, new int[] {dead[0], dead[7], dead[19]}, "fired");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void noDeadLatentsAddNothingAndBadListsAreRefused(TestBackends.Config cfg) {
        Random r = new Random(32);
        try (Backend be = cfg.open()) {
            assumeTrue(be.supportsAuxK(), "the " + be.name() + " backend has no AuxK yet");
            Case c = new Case(r, 9, 8, 16, 0.3);
            Object[] none = run(be, c, LatentStorage.AUTO, new int[0], 4, null);
            assertEquals(0f, (float) none[0], "aux loss without dead latents");
            double[][] main = Reference.gradients(c.ref(), c.x, c.B, 0, K);
            for (int t = 0; t < 4; t++) assertClose(main[t], (float[]) none[t + 1], 1e-4 * cfg.tolerance(), TENSORS[t]);
            for (int[] bad : new int[][] {{3, 2}, {1, 1}, {-1}, {c.m}}) {
                if (!be.name().equals("cpu")) { // device memory, not refused: bad entries take no part, nothing is written outside
                    Object[] out = run(be, c, LatentStorage.AUTO, bad, 4, null);
                    int[] used = bad[0] >= 0 && bad[0] < c.m ? new int[] {bad[0]} : new int[0];
                    double[] e = Reference.residual(c.ref(), c.x, c.B, K);
                    assertGradientsSum(main, Reference.auxGradients(c.ref(), c.x, c.B, used, 4, ALPHA, e), out, cfg,
                            Arrays.toString(bad));
                    continue;
                }
                IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                        () -> run(be, c, LatentStorage.AUTO, bad, 4, null), Arrays.toString(bad));
                assertTrue(ex.getMessage().contains("strictly ascending latent indices in 0.." + (c.m - 1) + "; entry"), ex.getMessage());
            }
        }
    }

    /** AuxK overwrites the latents: a decode or another AuxK without a fresh encode is refused. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void leavesTheWorkspaceWithoutAnEncode(TestBackends.Config cfg) {
        Random r = new Random(33);
        try (Backend be = cfg.open()) {
            assumeTrue(be.supportsAuxK(), "the " + be.name() + " backend has no AuxK yet");
            Case c = new Case(r, 9, 8, 16, 0.3);
            try (Workspace ws = c.workspace(be, LatentStorage.AUTO, true); IntBuf dead = be.allocateInts(2);
                 FloatBuf scratch = be.allocate(be.auxKScratchFloats(ws.spec(), 2)); FloatBuf g = be.allocate(SaeTensors.count(c.d, c.m))) {
                SaeTensors p = c.upload(be), grads = SaeTensors.view(g, c.d, c.m);
                be.upload(new int[] {0, 5}, 0, dead, 0, 2);
                AuxK aux = new AuxK(dead, 2, 2, 1f / 32, scratch, null);
                Activation act = Activation.topK(K);
                IllegalArgumentException early = assertThrows(IllegalArgumentException.class,
                        () -> be.auxKBackward(p, aux, grads, ws, c.B, null));
                assertTrue(early.getMessage().contains("auxKBackward: the workspace holds no encoded batch"), early.getMessage());
                be.encode(p, act, ws, c.B, null);
                be.decode(p, ws, c.B);
                be.backward(p, act, 0f, grads, ws, c.B, null);
                be.auxKBackward(p, aux, grads, ws, c.B, null);
                IllegalArgumentException again = assertThrows(IllegalArgumentException.class, () -> be.decode(p, ws, c.B));
                assertTrue(again.getMessage().contains("decode: the workspace holds no encoded batch"), again.getMessage());
                p.all().close();
            }
        }
    }
}
