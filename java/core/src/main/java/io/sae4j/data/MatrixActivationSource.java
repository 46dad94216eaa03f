package io.sae4j.data;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/**
 * Training batches from activations held in memory (rows x d, row-major): each epoch visits every
 * row once in an order shuffled from (seed, epoch), so the stream is a pure function of the rows
 * consumed and {@link #skip} only moves a counter. Rows are checked for NaN/Inf once, up front.
 */
public final class MatrixActivationSource implements ActivationSource {
    private final FloatBuffer data;
    private final long rows;
    private final int d;
    private final long seed;
    private final String what;
    private int[] order;
    private long orderEpoch = -1, consumed;

    /** {@code data} holds rows x d floats from its position; it is read, not copied. */
    public MatrixActivationSource(FloatBuffer data, int d, long seed, String what) {
        if (d < 1) throw new IllegalArgumentException("activations: d must be >= 1, got " + d);
        if (data.remaining() % d != 0)
            throw new IllegalArgumentException("activations: " + data.remaining() + " values are not whole rows of d = " + d);
        if (data.remaining() == 0) throw new IllegalArgumentException("activations: no rows");
        if (data.remaining() / d > Integer.MAX_VALUE) throw new IllegalArgumentException("activations: over 2^31 rows");
        this.data = data.slice();
        this.rows = data.remaining() / d;
        this.d = d;
        this.seed = seed;
        this.what = what;
        for (int i = 0; i < this.data.limit(); i++)
            if (!Float.isFinite(this.data.get(i)))
                throw new IllegalArgumentException(what + ": row " + i / d + ", column " + i % d + " is " + this.data.get(i));
    }

    @Override
    public int dIn() {
        return d;
    }

    public long rows() {
        return rows;
    }

    @Override
    public void next(float[] dst, int n) {
        if (dst.length < (long) n * d) throw new IllegalArgumentException("dst holds fewer than " + n + " rows of " + d);
        for (int r = 0; r < n; r++, consumed++) {
            long epoch = consumed / rows;
            if (epoch != orderEpoch) shuffle(epoch);
            data.get(order[(int) (consumed % rows)] * d, dst, r * d, d);
        }
    }

    private void shuffle(long epoch) {
        if (order == null) order = new int[(int) rows];
        for (int i = 0; i < order.length; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        orderEpoch = epoch;
    }

    @Override
    public void skip(long batches, int n) {
        consumed = Math.addExact(consumed, Math.multiplyExact(batches, (long) n));
    }

    @Override
    public String describe() {
        return what + " (" + rows + " x " + d + ", in memory)";
    }
}
