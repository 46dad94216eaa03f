package io.sae4j.data;

import java.util.SplittableRandom;

/**
 * Activations with known ground truth, after the sparse_coding recipe (loganriggs/sparse_coding's
 * RandomDatasetGenerator): {@code n} unit-norm random feature directions in d dimensions; feature i
 * is active with a probability that decays geometrically with i (scaled so that on average
 * {@code meanActive} features are active per token); active magnitudes are uniform in (0, 1];
 * optionally features in the same group fire together (a Gaussian copula with correlation
 * {@code correlation} inside each of {@code groups} groups), and Gaussian noise of std
 * {@code noise} is added. x = sum_i a_i feature_i + noise. Deterministic in the seed.
 */
public final class SyntheticData implements ActivationSource {
    public record Spec(int d, int features, double meanActive, double decay, double correlation, int groups,
                       double noise, long seed) {
        public Spec {
            if (d < 1 || features < 1) throw new IllegalArgumentException("d and features must be >= 1");
            if ((long) d * features > Integer.MAX_VALUE - 8) // the true features are one Java array
                throw new IllegalArgumentException("features x d = " + features + " x " + d + " = " + (long) d * features
                        + " floats, over the 2^31 - 9 one array holds");
            if (!(meanActive > 0 && meanActive <= features))
                throw new IllegalArgumentException("mean active features must be in (0, features], got " + meanActive);
            if (!(decay > 0 && decay <= 1)) throw new IllegalArgumentException("decay must be in (0, 1], got " + decay);
            if (!(correlation >= 0 && correlation < 1))
                throw new IllegalArgumentException("correlation must be in [0, 1), got " + correlation);
            if (groups < 1) throw new IllegalArgumentException("groups must be >= 1");
            if (!(noise >= 0)) throw new IllegalArgumentException("noise must be >= 0");
        }

        public static Spec of(int d, int features, long seed) {
            return new Spec(d, features, Math.min(5, features), 0.99, 0, 1, 0, seed);
        }
    }

    private final Spec spec;
    private final float[] truth;       // (features, d), unit rows
    private final double[] threshold;  // feature i fires when its copula normal < threshold[i]
    private final int[] group;
    private final SplittableRandom rng;

    public SyntheticData(Spec spec) {
        this.spec = spec;
        SplittableRandom init = new SplittableRandom(spec.seed());
        int n = spec.features(), d = spec.d();
        truth = new float[n * d];
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int k = 0; k < d; k++) {
                double g = gaussian(init);
                truth[i * d + k] = (float) g;
                ss += g * g;
            }
            for (int k = 0; k < d; k++) truth[i * d + k] /= (float) Math.sqrt(ss);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += p[i] = Math.pow(spec.decay(), i);
        threshold = new double[n];
        group = new int[n];
        for (int i = 0; i < n; i++) {
            threshold[i] = inverseNormal(Math.min(1 - 1e-12, p[i] * spec.meanActive() / sum));
            group[i] = init.nextInt(spec.groups());
        }
        rng = init.split();
    }

    /** The true feature directions (features, d), unit norm rows. */
    public float[] features() {
        return truth.clone();
    }

    public Spec spec() {
        return spec;
    }

    @Override
    public int dIn() {
        return spec.d();
    }

    @Override
    public String describe() {
        return "synthetic(d=" + spec.d() + ", features=" + spec.features() + ", seed=" + spec.seed() + ")";
    }

    @Override
    public void next(float[] dst, int rows) {
        int n = spec.features(), d = spec.d();
        if (dst.length < (long) rows * d) throw new IllegalArgumentException("dst holds fewer than " + rows + " rows");
        double rho = spec.correlation(), a = Math.sqrt(rho), b = Math.sqrt(1 - rho);
        double[] shared = new double[spec.groups()];
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            for (int k = 0; k < d; k++) dst[o + k] = spec.noise() > 0 ? (float) (spec.noise() * gaussian(rng)) : 0f;
            if (rho > 0) for (int g = 0; g < shared.length; g++) shared[g] = gaussian(rng);
            for (int i = 0; i < n; i++) {
                double z = rho > 0 ? a * shared[group[i]] + b * gaussian(rng) : gaussian(rng);
                if (z >= threshold[i]) continue;
                float mag = (float) (1.0 - rng.nextDouble()); // (0, 1]
                for (int k = 0; k < d; k++) dst[o + k] += mag * truth[i * d + k];
            }
        }
    }

    @Override
    public void skip(long batches, int rows) {
        float[] scratch = new float[rows * spec.d()];
        for (long i = 0; i < batches; i++) next(scratch, rows);
    }

    /** A standard normal draw (Box-Muller; SplittableRandom has no nextGaussian on Java 17). */
    public static double gaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
    static double inverseNormal(double p) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("probability must be in (0, 1), got " + p);
        final double[] a = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
        final double[] b = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                6.680131188771972e+01, -1.328068155288572e+01};
        final double[] c = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
        final double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                3.754408661907416e+00};
        double q, r;
        if (p < 0.02425) {
            q = Math.sqrt(-2 * Math.log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - 0.02425) return -inverseNormal(1 - p);
        q = p - 0.5;
        r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
}
