package io.sae4j.sae;

import io.sae4j.backend.AdamState;
import io.sae4j.backend.AdamStep;
import io.sae4j.backend.AuxK;
import io.sae4j.backend.Backend;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.IntBuf;
import io.sae4j.backend.NonFiniteInputException;
import io.sae4j.backend.SaeTensors;
import io.sae4j.backend.StepStats;
import io.sae4j.backend.Workspace;
import io.sae4j.backend.WorkspaceSpec;
import io.sae4j.data.ActivationSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Adam training of one or several SAEs on the same stream of batches (multi-SAE mode: e.g.
 * expansion ratios 1..32 or several seeds over one pass of the data). ReLU SAEs minimise the MSE
 * plus the decoder-norm-weighted L1; TopK SAEs the MSE alone, with W_dec's rows held at unit norm
 * (the gradient's radial part removed before each step, the rows renormalised after it), plus
 * AuxK on their dead latents when the config asks for it. Each step loads the batch
 * once, then for each SAE runs encode, decode, backward into a gradient buffer shared by all SAEs,
 * and Adam. All backend memory is allocated up front; the per-step statistics (losses, nonzero and
 * firing counts, the batch variance) stay on the backend and are read back only when their slots
 * fill up or a record or checkpoint is due, so a GPU step waits for nothing but its batch upload.
 *
 * <p>Use {@link #run} for the whole loop (b_dec from the first batch's mean, logging, checkpoints),
 * or {@link #step} to drive it yourself.
 */
public final class Trainer implements AutoCloseable {
    /** Steps whose statistics the backend holds before the host folds them in. */
    static final int MAX_STAT_SLOTS = 1000;

    /** One SAE's optimiser state and latent statistics. */
    static final class Slot {
        final SparseAutoencoder sae;
        final AdamState moments;
        final StepStats stats;
        final SaeTensors grads; // views of the shared gradient buffer in this SAE's layout
        final long[] lastFired; // tokens seen when each latent was last seen firing (-1: never)
        final IntBuf dead;      // AuxK: the dead latents (first deadCount), refreshed after each collect
        final int[] deadHost;
        int deadCount;
        boolean deadStale = true;
        long resampled; // dead latents resampled so far
        double l1Factor = 1; // lambda = l1Coefficient * l1Factor (adapted towards the config's target L0)
        double lossSum, mseSum, l1Sum, l0Sum, fvuNum;
        double bestMse = Double.POSITIVE_INFINITY; // lowest interval MSE so far (divergence check)
        long intervalSteps;

        Slot(SparseAutoencoder sae, FloatBuf gradBuffer, int statSlots, boolean auxK) {
            this.sae = sae;
            Backend be = sae.backend();
            moments = AdamState.zeros(be, sae.parameters().length());
            stats = new StepStats(be, statSlots, sae.dSae());
            grads = SaeTensors.view(gradBuffer, sae.dIn(), sae.dSae());
            lastFired = new long[sae.dSae()];
            Arrays.fill(lastFired, -1);
            dead = auxK ? be.allocateInts(sae.dSae()) : null;
            deadHost = auxK ? new int[sae.dSae()] : null;
        }
    }

    /**
     * Means over the steps since the last record, per SAE ({@code loss} includes AuxK's). {@code fvu} is the interval's summed
     * squared error over the summed squared deviation of each batch from its own mean (the
     * metrics' FVU uses the whole sample's mean instead). {@code deadFraction}: latents that did
     * not fire in the last min(deadWindowTokens, tokens) tokens.
     */
    public record Record(long step, long tokens, double lr, double l1Coefficient, int sae, double loss, double mse,
                         double l1, double l0, double fvu, double deadFraction) {}

    /**
     * Receives training records and checkpoint opportunities; a lambda takes the records
     * ({@code records -> ...}).
     */
    @FunctionalInterface
    public interface Listener {
        /** Ignores everything. */
        Listener NONE = records -> {};

        void record(List<Record> records);

        /** Called every {@code checkpointEvery} steps and at the end. */
        default void checkpoint(Trainer trainer) throws IOException {}
    }

    private final TrainConfig config;
    private final Backend backend;
    private final List<Slot> slots = new ArrayList<>();
    private final Workspace ws;
    private final FloatBuf grads;
    private final FloatBuf variance; // (statSlots): each pending step's sum of squared deviations
    private final FloatBuf auxScratch; // AuxK's, shared by the SAEs (null without AuxK)
    private final int statSlots;
    private final float[] host;
    private final int d;
    private long step;
    private int pending; // steps whose statistics are still on the backend
    private String failure; // why the trainer stopped (a diverged SAE), null while it runs
    private double varSum;
    private List<Record> lastRecords = List.of();

    public Trainer(List<SparseAutoencoder> saes, TrainConfig config) {
        this(saes, config, MAX_STAT_SLOTS);
    }

    /** With at most {@code maxStatSlots} steps of statistics on the backend (tests vary it). */
    Trainer(List<SparseAutoencoder> saes, TrainConfig config, int maxStatSlots) {
        if (saes.isEmpty()) throw new IllegalArgumentException("no SAEs to train");
        this.config = config;
        this.backend = saes.get(0).backend();
        this.d = saes.get(0).dIn();
        if ((long) config.batchSize() * d > Integer.MAX_VALUE - 8) // the host batch is one Java array
            throw new IllegalArgumentException("batch size x d_in = " + config.batchSize() + " x " + d + " = "
                    + (long) config.batchSize() * d + " floats, over the 2^31 - 9 one array holds: use a smaller batch");
        int maxM = 0;
        long maxParams = 0;
        for (SparseAutoencoder s : saes) {
            if (s.backend() != backend) throw new IllegalArgumentException("all SAEs must share one backend");
            if (s.dIn() != d) throw new IllegalArgumentException("all SAEs must have the same d_in: " + s.dIn() + " != " + d);
            if (!s.encoderActivation().equals(s.config().activation()))
                throw new IllegalArgumentException("sae4j trains relu and topk SAEs; this one's encoder is "
                        + s.encoderActivation().describe() + " (read from a file: it can be encoded and compared)");
            maxM = Math.max(maxM, s.dSae());
            maxParams = Math.max(maxParams, s.parameters().length());
        }
        if (config.auxK()) {
            for (int i = 0; i < saes.size(); i++)
                if (!saes.get(i).config().topK())
                    throw new IllegalArgumentException("AuxK is TopK training's loss on dead latents; SAE " + i + " is "
                            + saes.get(i).config().architecture() + ": train it without AuxK");
            if (!backend.supportsAuxK())
                throw new UnsupportedOperationException("the " + backend.name() + " backend has no AuxK yet: train with AuxK"
                        + " on the cpu backend, or without it");
        }
        // the backend's firing counts are int32: read back before slots x batch rows could pass 2^31
        statSlots = (int) Math.max(1, Math.min(Math.min(config.logEvery(), maxStatSlots),
                Integer.MAX_VALUE / (long) config.batchSize()));
        ws = backend.workspace(WorkspaceSpec.training(config.batchSize(), d, maxM));
        grads = backend.allocate(maxParams);
        variance = backend.allocate(statSlots);
        auxScratch = config.auxK() ? backend.allocate(backend.auxKScratchFloats(ws.spec(), config.auxKLatentsFor(d))) : null;
        host = new float[config.batchSize() * d];
        for (SparseAutoencoder s : saes) slots.add(new Slot(s, grads, statSlots, config.auxK()));
    }

    public TrainConfig config() { return config; }
    public long step() { return step; }
    public int size() { return slots.size(); }
    public SparseAutoencoder sae(int i) { return slots.get(i).sae; }

    /** Sets every SAE's b_dec to the mean of the given rows (n, d). */
    public void initDecoderBias(float[] x, int n) {
        double[] mean = columnMean(x, n);
        float[] b = new float[d];
        for (int k = 0; k < d; k++) b[k] = (float) mean[k];
        for (Slot s : slots) s.sae.setDecoderBias(b);
    }

    /**
     * One optimiser step of every SAE on the batch x (batchSize, d) given on the host. A batch with
     * NaN or Inf is refused before anything changes; a diverging SAE (non-finite loss) is reported
     * when its statistics are read back (at the latest at the next record or checkpoint).
     */
    public void step(float[] x, String what) {
        if (failure != null) throw new IllegalStateException(failure);
        int B = config.batchSize();
        if (x.length < B * d) throw new IllegalArgumentException("batch: expected " + B * d + " values, got " + x.length);
        NonFiniteInputException.requireFinite(x, B, d, what);
        if (pending == statSlots) collect();
        backend.upload(x, 0, ws.input(), 0, B * d);
        long t = step + 1;
        AdamStep adam = new AdamStep((float) config.lrAt(t), (float) config.beta1(), (float) config.beta2(),
                (float) config.eps(), t);
        backend.sumSquaredDeviation(ws, B, variance, pending);
        for (Slot s : slots) {
            SparseAutoencoder sae = s.sae;
            StepStats.Slot stat = s.stats.at(pending);
            float lambda = (float) lambda(s, t);
            backend.encode(sae.tensors(), sae.activation(), ws, B, stat);
            backend.decode(sae.tensors(), ws, B);
            backend.backward(sae.tensors(), sae.activation(), lambda, s.grads, ws, B, stat);
            if (config.auxK()) {
                if (s.deadStale) refreshDead(s);
                // latents that fired since the list was made (this batch included) take no part; with
                // fewer dead latents than k_aux the loss is scaled down as sparsify does
                int kAux = config.auxKLatentsFor(d);
                float alpha = (float) (config.auxKCoefficient() * Math.min(1.0, (double) s.deadCount / kAux));
                backend.auxKBackward(sae.tensors(), new AuxK(s.dead, s.deadCount, kAux, alpha, auxScratch, stat.firing()),
                        s.grads, ws, B, stat);
            }
            if (sae.config().topK()) backend.removeDecoderRadial(sae.tensors(), s.grads); // unit-norm decoder
            backend.adamStep(sae.parameters(), s.grads.all(), s.moments, adam);
            if (sae.config().topK()) backend.normalizeDecoder(sae.tensors());
        }
        pending++;
        step = t;
    }

    /**
     * Reads the pending steps' statistics back into the interval sums. When an SAE's loss is not
     * finite, nothing is folded in and the trainer stops for good: the exception names the SAE and
     * the step, and its parameters are no longer usable (the last checkpoint is).
     */
    private void collect() {
        if (failure != null) throw new IllegalStateException(failure);
        if (pending == 0) return;
        int B = config.batchSize();
        long first = step - pending + 1;
        float[] var = new float[pending];
        backend.download(variance, 0, var, 0, pending);
        List<StepStats.Snapshot> snaps = new ArrayList<>();
        for (Slot s : slots) snaps.add(s.stats.drain(pending));
        final int L = StepStats.LOSSES;
        for (int i = 0; i < slots.size(); i++) {
            float[] l = snaps.get(i).losses();
            for (int k = 0; k < pending; k++)
                if (!Float.isFinite(l[L * k]) || !Float.isFinite(l[L * k + 1]) || !Double.isFinite(auxLoss(l, k))) {
                    Slot s = slots.get(i);
                    double lambda = lambda(s, first + k);
                    failure = "SAE " + i + " (d_sae " + s.sae.dSae() + ") diverged at step " + (first + k) + ": loss is "
                            + (l[L * k] + lambda * l[L * k + 1] + auxLoss(l, k)) + "; lower the learning rate or the L1 coefficient";
                    throw new IllegalStateException(failure);
                }
        }
        for (int i = 0; i < slots.size(); i++) {
            Slot s = slots.get(i);
            StepStats.Snapshot snap = snaps.get(i);
            for (int k = 0; k < pending; k++) {
                double mse = snap.losses()[L * k], l1 = snap.losses()[L * k + 1];
                double lambda = lambda(s, first + k);
                s.lossSum += mse + lambda * l1 + auxLoss(snap.losses(), k);
                s.mseSum += mse;
                s.l1Sum += l1;
                s.l0Sum += (double) snap.nonzeros()[k] / B;
                s.fvuNum += mse * B;
                s.intervalSteps++;
            }
            s.stats.density((double) snap.nonzeros()[pending - 1] / ((double) B * s.sae.dSae()));
            long seen = step * (long) B;
            for (int j = 0; j < snap.firing().length; j++)
                if (snap.firing()[j] > 0) s.lastFired[j] = seen;
            s.deadStale = true;
        }
        for (float v : var) varSum += v;
        pending = 0;
    }

    /** Step k's AuxK loss in a snapshot's losses (0 without AuxK). */
    private double auxLoss(float[] losses, int k) {
        return config.auxK() ? losses[StepStats.LOSSES * k + 2] : 0;
    }

    /**
     * AuxK's dead latents of s: those not seen firing in the last deadWindowTokens tokens, as of the
     * latest collect (so none before a whole window has passed).
     */
    private void refreshDead(Slot s) {
        long tokens = step * (long) config.batchSize();
        int n = 0;
        for (int j = 0; j < s.lastFired.length; j++)
            if (tokens - Math.max(0, s.lastFired[j]) >= config.deadWindowTokens()) s.deadHost[n++] = j;
        if (n > 0) backend.upload(s.deadHost, 0, s.dead, 0, n);
        s.deadCount = n;
        s.deadStale = false;
    }

    /** SAE i's dead latents as AuxK last saw them (0 without AuxK). */
    public int auxKDead(int i) {
        return slots.get(i).deadCount;
    }

    /** Mean of the first n rows of x (n, d), per column. */
    private double[] columnMean(float[] x, int n) {
        double[] mean = new double[d];
        for (int r = 0; r < n; r++)
            for (int k = 0; k < d; k++) mean[k] += x[r * d + k];
        for (int k = 0; k < d; k++) mean[k] /= n;
        return mean;
    }

    /** Means since the previous call, one record per SAE; updates the dead-latent tracking. */
    public List<Record> drainRecords() {
        collect();
        List<Record> out = new ArrayList<>();
        long tokens = step * config.batchSize();
        for (int i = 0; i < slots.size(); i++) {
            Slot s = slots.get(i);
            long dead = 0;
            // never fired counts from token 0; before a whole window has passed, dead = never fired yet
            for (long fired : s.lastFired)
                if (tokens - Math.max(0, fired) >= Math.min(config.deadWindowTokens(), tokens)) dead++;
            long k = Math.max(1, s.intervalSteps);
            out.add(new Record(step, tokens, config.lrAt(step), lambda(s, step),
                    i, s.lossSum / k, s.mseSum / k, s.l1Sum / k, s.l0Sum / k,
                    varSum > 0 ? s.fvuNum / varSum : Double.NaN, (double) dead / s.lastFired.length));
            s.lossSum = s.mseSum = s.l1Sum = s.l0Sum = s.fvuNum = 0;
            s.intervalSteps = 0;
        }
        varSum = 0;
        for (Record r : out) requireNotDiverging(r);
        for (Record r : out) {
            Record previous = lastRecords.isEmpty() ? null : lastRecords.get(r.sae()); // restore() checks they line up
            adaptLambda(slots.get(r.sae()), r, previous);
        }
        lastRecords = List.copyOf(out);
        return out;
    }

    /** The L1 coefficient of an SAE at step t: its config's, times its adapted factor, times the warmup. */
    private double lambda(Slot s, long t) {
        return s.sae.config().l1Coefficient() * s.l1Factor * config.l1ScaleAt(t);
    }

    /** Largest change of lambda per record, either way. */
    static final double ADAPT_MAX_STEP = 1.25;
    /** Lambda is not raised while L0, above the target, already falls by more than this fraction per record. */
    static final double ADAPT_HOLD_FALL = 0.10;
    /**
     * The version of {@link #lambdaFactor}: part of a target-L0 run's identity, so that a checkpoint
     * of an earlier controller is not resumed (or a finished run reused) as if it were this one's.
     */
    static final int LAMBDA_CONTROLLER = 2;

    /**
     * Moves an SAE's lambda towards its target L0 (when it has one), from the end of the L1 warmup
     * to the end of training. (An earlier version held it from 80% on: at the study's earlier
     * defaults L0 then kept falling to 23-29 for a target of 32, unevenly across ratios.) See
     * {@link #lambdaFactor}. Both limits are per record, so they act over {@code logEvery} steps.
     */
    private void adaptLambda(Slot s, Record r, Record previous) {
        double target = s.sae.config().targetL0();
        // not after the last step: the run's final record gives the lambda it ended with
        if (target <= 0 || r.step() <= config.l1WarmupSteps() || r.step() >= config.steps()) return;
        s.l1Factor *= lambdaFactor(r.l0(), previous == null ? Double.NaN : previous.l0(), target);
    }

    /**
     * The change of lambda after a record of interval L0 {@code l0} (the one before: {@code previousL0},
     * NaN when none): times sqrt(L0 / target), at most {@link #ADAPT_MAX_STEP} either way, so that it
     * settles where L0 meets the target. Not raised while L0 is above the target but already falling
     * by more than {@link #ADAPT_HOLD_FALL} a record: early in training L0 falls from thousands to
     * tens on its own, and raising lambda all the while overshoots, and the latents it switches off
     * stay off. At the study's settings (1:32, target 32) lambda rose to 4.9 before ending at 1.5 and
     * left 16% of the latents dead, against 1.3% when it waits (benchmarks/RESULTS.md, issue 12).
     */
    static double lambdaFactor(double l0, double previousL0, double target) {
        if (!(l0 > 0)) return 1 / ADAPT_MAX_STEP;
        if (l0 > target && previousL0 > 0 && l0 < (1 - ADAPT_HOLD_FALL) * previousL0) return 1;
        return Math.max(1 / ADAPT_MAX_STEP, Math.min(ADAPT_MAX_STEP, Math.sqrt(l0 / target)));
    }

    /** SAE i's lambda factor so far (1 unless it adapts towards a target L0). */
    public double l1Factor(int i) {
        return slots.get(i).l1Factor;
    }

    /** An interval FVU above this is divergence: no SAE that learns anything is 100x worse than the mean. */
    static final double DIVERGED_FVU = 100;
    /** ... as is an MSE this many times the SAE's best interval while worse than the mean (FVU > 1). */
    static final double DIVERGED_GROWTH = 1e3;

    /**
     * Stops the trainer (as a non-finite loss does: before the next checkpoint, so the last good one
     * is kept) when an SAE's reconstruction has blown up by orders of magnitude.
     */
    private void requireNotDiverging(Record r) {
        Slot s = slots.get(r.sae());
        boolean blownUp = r.fvu() > DIVERGED_FVU || (r.fvu() > 1 && r.mse() > DIVERGED_GROWTH * s.bestMse);
        s.bestMse = Math.min(s.bestMse, r.mse());
        if (!blownUp) return;
        failure = String.format(Locale.ROOT, "SAE %d (d_sae %d) diverged by step %d: reconstruction error %.3g is %.3g"
                + " times the data's variance (FVU), and %.3g times its best; lower the learning rate (now %.3g)",
                r.sae(), s.sae.dSae(), r.step(), r.mse(), r.fvu(), r.mse() / s.bestMse, r.lr());
        throw new IllegalStateException(failure);
    }

    /** The records of the latest {@link #drainRecords} (restored from checkpoints too); empty before any. */
    public List<Record> lastRecords() {
        return lastRecords;
    }

    /**
     * Trains until {@code config.steps()}: when starting from step 0, b_dec is first set to the mean
     * of the first batch (which is then trained on as usual). Records go to the listener every
     * {@code logEvery} steps; checkpoints every {@code checkpointEvery} steps and at the end.
     */
    public void run(ActivationSource source, Listener listener) throws IOException {
        if (source.dIn() != d)
            throw new IllegalArgumentException(source.describe() + ": rows have width " + source.dIn() + ", SAEs expect " + d);
        int B = config.batchSize();
        boolean first = step == 0;
        while (step < config.steps()) {
            source.next(host, B);
            if (first) {
                initDecoderBias(host, B);
                first = false;
            }
            step(host, source.describe());
            if (config.resamplesAt(step)) resampleDead(host);
            if (step % config.logEvery() == 0 || step == config.steps()) listener.record(drainRecords());
            if ((config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0) || step == config.steps()) {
                collect(); // a diverged SAE fails here, before its parameters reach a checkpoint
                listener.checkpoint(this);
            }
        }
    }

    /**
     * Resamples, in every SAE, the latents that have not fired since the previous resampling (or
     * since step 0), using the batch x (batchSize, d) just trained on (see
     * {@link DeadLatentResampler}). {@link #run} calls it where {@link TrainConfig#resamplesAt} says;
     * deterministic in the SAE's seed and the step.
     */
    void resampleDead(float[] x) {
        collect();
        int B = config.batchSize();
        long since = config.lastResampleBefore(step) * B, now = step * B;
        backend.upload(x, 0, ws.input(), 0, B * d);
        for (Slot s : slots) {
            int[] dead = java.util.stream.IntStream.range(0, s.lastFired.length).filter(j -> s.lastFired[j] <= since).toArray();
            long seed = s.sae.config().seed() * 0x9E3779B97F4A7C15L ^ step;
            int[] done = DeadLatentResampler.resample(s.sae, s.moments, ws, x, B, dead, seed);
            for (int j : done) s.lastFired[j] = now; // a fresh start, not dead on arrival
            s.resampled += done.length;
        }
    }

    /** Dead latents of SAE i resampled so far (restored from checkpoints too). */
    public long resampled(int i) {
        return slots.get(i).resampled;
    }

    // ---- state for checkpoints ----

    /** SAE i's state beside its parameters (host copies), for checkpoints; {@link #restore} takes it back. */
    public SaeState state(int i) {
        Slot s = slots.get(i);
        return new SaeState(backend.download(s.moments.m1()), backend.download(s.moments.m2()), s.lastFired.clone(), s.resampled,
                s.l1Factor);
    }

    /**
     * One SAE's training state beside its parameters, as a checkpoint holds it: Adam's moments,
     * the firing history, the latents resampled so far and the adapted lambda factor.
     */
    public record SaeState(float[] adamM1, float[] adamM2, long[] lastFired, long resampled, double l1Factor) {}

    /** Restores the step counter, each SAE's state (in trainer order) and the latest records of a checkpoint. */
    public void restore(long atStep, List<SaeState> states, List<Record> records) {
        if (atStep < 0 || atStep > config.steps())
            throw new IllegalArgumentException("checkpoint step " + atStep + " outside 0.." + config.steps());
        // the target-L0 controller reads each SAE's previous record from these: none, or one per SAE in order
        boolean lineUp = records.isEmpty() || records.size() == slots.size()
                && java.util.stream.IntStream.range(0, records.size()).allMatch(i -> records.get(i).sae() == i && records.get(i).step() == atStep);
        if (!lineUp) throw new IllegalArgumentException("checkpoint records do not match its " + slots.size() + " SAEs at step " + atStep);
        for (int i = 0; i < slots.size(); i++) {
            Slot s = slots.get(i);
            SaeState st = states.get(i);
            long n = s.moments.m1().length();
            if (st.adamM1().length != n || st.adamM2().length != n || st.lastFired().length != s.lastFired.length)
                throw new IllegalArgumentException("checkpoint state of SAE " + i + " does not match its shape");
            backend.upload(st.adamM1(), 0, s.moments.m1(), 0, (int) n);
            backend.upload(st.adamM2(), 0, s.moments.m2(), 0, (int) n);
            System.arraycopy(st.lastFired(), 0, s.lastFired, 0, s.lastFired.length);
            s.resampled = st.resampled();
            s.l1Factor = st.l1Factor();
            s.deadStale = true;
        }
        step = atStep;
        lastRecords = List.copyOf(records);
    }

    @Override
    public void close() {
        for (Slot s : slots) {
            s.moments.close();
            s.stats.close();
            if (s.dead != null) s.dead.close();
        }
        grads.close();
        variance.close();
        if (auxScratch != null) auxScratch.close();
        ws.close();
    }
}
