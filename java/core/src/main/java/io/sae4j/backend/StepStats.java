package io.sae4j.backend;

/**
 * Per-step statistics of one SAE that stay on the backend until the host reads them (at log
 * intervals, not every step): for each of {@code slots} steps, the losses [mse, l1] (written by
 * {@link Backend#backward}) and AuxK's (by {@link Backend#auxKBackward}, where it runs), the number of nonzero latents (written by {@link Backend#encode}),
 * and per latent the number of tokens it fired on (accumulated by {@link Backend#encode}).
 */
public final class StepStats implements AutoCloseable {
    private final int slots;
    private final FloatBuf losses;  // (slots, 3): mse, l1, aux
    private final IntBuf nonzeros;  // (slots)
    private final IntBuf firing;    // (latents)
    private volatile double density = Double.NaN; // of the latest step read back, NaN before any

    /** Where one step writes its statistics. */
    public record Slot(StepStats stats, int index) {
        public Slot {
            if (index < 0 || index >= stats.slots)
                throw new IllegalArgumentException("stats slot " + index + " outside 0.." + (stats.slots - 1));
        }

        /** The losses [mse, l1] of this step: 2 floats. */
        public FloatBuf losses() {
            return stats.losses.slice(LOSSES * index, 2);
        }

        /** The AuxK loss of this step: 1 float. */
        public FloatBuf auxLoss() {
            return stats.losses.slice(LOSSES * index + 2, 1);
        }

        /** The nonzero count of this step: 1 int. */
        public IntBuf nonzeros() {
            return stats.nonzeros.slice(index, 1);
        }

        public IntBuf firing() {
            return stats.firing;
        }
    }

    /** Floats per step in the losses: [mse, l1, aux]. */
    public static final int LOSSES = 3;

    /** Host copy of the first {@code steps} slots ({@link #LOSSES} losses each) and the firing counts. */
    public record Snapshot(float[] losses, int[] nonzeros, int[] firing) {}

    public StepStats(Backend backend, int slots, long latents) {
        if (slots < 1) throw new IllegalArgumentException("stats need at least 1 slot, got " + slots);
        this.slots = slots;
        losses = backend.allocate((long) LOSSES * slots);
        nonzeros = backend.allocateInts(slots);
        firing = backend.allocateInts(latents);
        backend.fill(losses, Float.NaN);
        backend.fill(nonzeros, 0);
        backend.fill(firing, 0);
    }

    public int slots() {
        return slots;
    }

    /**
     * The fraction of latents that fired in the latest step the host has read back (NaN before
     * any): backends that share one workspace between SAEs choose each one's sparse or dense path
     * from it. Set by whoever reads the statistics (the trainer).
     */
    public double density() {
        return density;
    }

    public void density(double fraction) {
        density = fraction;
    }

    // whole buffers, for tests that put guard values around a slot
    FloatBuf lossesBuffer() { return losses; }
    IntBuf nonzerosBuffer() { return nonzeros; }
    IntBuf firingBuffer() { return firing; }

    public Slot at(int index) {
        return new Slot(this, index);
    }

    /** Reads the first {@code steps} slots and the firing counts, then zeroes the firing counts. */
    public Snapshot drain(int steps) {
        if (steps < 0 || steps > slots) throw new IllegalArgumentException("steps " + steps + " outside 0.." + slots);
        Backend be = losses.backend();
        float[] l = new float[LOSSES * steps];
        int[] nz = new int[steps];
        if (steps > 0) {
            be.download(losses, 0, l, 0, l.length);
            be.download(nonzeros, 0, nz, 0, steps);
        }
        int[] fired = be.download(firing);
        be.fill(firing, 0);
        return new Snapshot(l, nz, fired);
    }

    @Override
    public void close() {
        losses.close();
        nonzeros.close();
        firing.close();
    }
}
