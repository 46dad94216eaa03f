package io.sae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Synthetic activations with known features. With fewer features than dimensions the features are
 * linearly independent, so each token's coefficients are recovered exactly by least squares: that
 * gives the active set, the magnitudes and the noise, which the statistical checks use.
 */
class SyntheticDataTest {
    private static final int D = 48, N = 29; // N < D: the feature directions are linearly independent

    /** Coefficients a (rows, n) with x = a F + residual, by least squares via the Gram matrix (double). */
    private static final class Decomposition {
        final double[] coef, residualSq; // residualSq[r] = ||x_r - a_r F||^2

        Decomposition(float[] features, int n, int d, float[] x, int rows) {
            double[] g = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < d; k++) s += (double) features[i * d + k] * features[j * d + k];
                    g[i * n + j] = s;
                }
            double[] l = cholesky(g, n);
            coef = new double[rows * n];
            residualSq = new double[rows];
            double[] b = new double[n], y = new double[n];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < n; i++) {
                    double s = 0;
                    for (int k = 0; k < d; k++) s += (double) features[i * d + k] * x[r * d + k];
                    b[i] = s;
                }
                for (int i = 0; i < n; i++) { // L y = b
                    double s = b[i];
                    for (int j = 0; j < i; j++) s -= l[i * n + j] * y[j];
                    y[i] = s / l[i * n + i];
                }
                for (int i = n - 1; i >= 0; i--) { // L^T a = y
                    double s = y[i];
                    for (int j = i + 1; j < n; j++) s -= l[j * n + i] * coef[r * n + j];
                    coef[r * n + i] = s / l[i * n + i];
                }
                double rs = 0;
                for (int k = 0; k < d; k++) {
                    double v = x[r * d + k];
                    for (int i = 0; i < n; i++) v -= coef[r * n + i] * features[i * d + k];
                    rs += v * v;
                }
                residualSq[r] = rs;
            }
        }

        private static double[] cholesky(double[] a, int n) {
            double[] l = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++) {
                    double s = a[i * n + j];
                    for (int k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
                    if (i == j) {
                        assertTrue(s > 1e-8, "Gram matrix of the features should be positive definite");
                        l[i * n + i] = Math.sqrt(s);
                    } else {
                        l[i * n + j] = s / l[j * n + j];
                    }
                }
            return l;
        }
    }

    private static float[] generate(SyntheticData s, int rows) {
        float[] x = new float[rows * s.dIn()];
        s.next(x, rows);
        return x;
    }

    /** Number of active features per token (coefficient above 1e-4; magnitudes are uniform in (0, 1]). */
    private static int[] activeCounts(Decomposition dec, int rows, int n) {
        int[] c = new int[rows];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++) if (dec.coef[r * n + i] > 1e-4) c[r]++;
        return c;
    }

    private static double mean(int[] v) {
        double s = 0;
        for (int x : v) s += x;
        return s / v.length;
    }

    private static double variance(int[] v) {
        double m = mean(v), s = 0;
        for (int x : v) s += (x - m) * (x - m);
        return s / (v.length - 1);
    }

    /** The firing probability the recipe assigns feature i: decay^i scaled to sum to meanActive. */
    private static double[] probabilities(SyntheticData.Spec spec) {
        int n = spec.features();
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.pow(spec.decay(), i);
        for (int i = 0; i < n; i++) p[i] = Math.pow(spec.decay(), i) * spec.meanActive() / sum;
        return p;
    }

    @Test
    void featuresAreUnitNormAndDeterministic() {
        SyntheticData.Spec spec = new SyntheticData.Spec(37, 150, 4, 0.97, 0, 1, 0, 21);
        SyntheticData a = new SyntheticData(spec), b = new SyntheticData(spec);
        float[] f = a.features();
        assertEquals(150 * 37, f.length, "features (n, d)");
        for (int i = 0; i < 150; i++) {
            double ss = 0;
            for (int k = 0; k < 37; k++) ss += (double) f[i * 37 + k] * f[i * 37 + k];
            assertEquals(1.0, Math.sqrt(ss), 1e-5, "feature " + i + " norm");
        }
        assertArrayEquals(f, b.features(), "same seed, same features");
        f[0] = 42;
        assertFalse(a.features()[0] == 42f, "features() returns a copy");
        assertArrayEquals(generate(a, 211), generate(b, 211), "same seed, same activations");
        assertArrayEquals(generate(a, 5), generate(b, 5), "and the next batch too");

        SyntheticData c = new SyntheticData(new SyntheticData.Spec(37, 150, 4, 0.97, 0, 1, 0, 22));
        assertFalse(Arrays.equals(b.features(), c.features()), "another seed, other features");
        assertEquals(37, a.dIn());
        assertEquals(spec, a.spec());
        assertTrue(a.describe().contains("d=37") && a.describe().contains("features=150"), a.describe());
    }

    @Test
    void featureDirectionsAreSpreadOut() {
        // random unit vectors in d = 48: pairwise cosines have mean 0 and variance 1/48 (sd 0.144)
        SyntheticData s = new SyntheticData(new SyntheticData.Spec(D, 150, 5, 0.99, 0, 1, 0, 3));
        float[] f = s.features();
        double maxAbs = 0, sumSq = 0;
        int pairs = 0;
        for (int i = 0; i < 150; i++)
            for (int j = i + 1; j < 150; j++) {
                double c = 0;
                for (int k = 0; k < D; k++) c += (double) f[i * D + k] * f[j * D + k];
                maxAbs = Math.max(maxAbs, Math.abs(c));
                sumSq += c * c;
                pairs++;
            }
        assertTrue(maxAbs < 0.75, "largest |cos| between features " + maxAbs);
        assertEquals(1.0 / D, sumSq / pairs, 0.3 / D, "mean squared cosine ~ 1/d");
    }

    @Test
    void skipEqualsReading() {
        SyntheticData.Spec spec = new SyntheticData.Spec(D, N, 3, 0.95, 0.4, 3, 0.05, 8);
        SyntheticData a = new SyntheticData(spec), b = new SyntheticData(spec);
        float[] scratch = new float[33 * D];
        for (int i = 0; i < 4; i++) a.next(scratch, 33);
        b.skip(4, 33);
        assertArrayEquals(generate(a, 17), generate(b, 17), "skip(4, 33) == four reads of 33 rows");
    }

    @Test
    void activeFeaturesMatchTheRecipe() {
        int rows = 20000;
        SyntheticData.Spec spec = new SyntheticData.Spec(D, N, 4, 0.9, 0, 1, 0, 5);
        SyntheticData s = new SyntheticData(spec);
        float[] x = generate(s, rows);
        Decomposition dec = new Decomposition(s.features(), N, D, x, rows);
        double maxResidual = 0;
        for (double r : dec.residualSq) maxResidual = Math.max(maxResidual, r);
        assertTrue(maxResidual < 1e-8, "noise 0: x lies in the span of the features (max residual^2 " + maxResidual + ")");

        int[] counts = activeCounts(dec, rows, N);
        // mean active per token: sum_i p_i = 4 (no p_i reaches 1 here); sd of the mean < 2/sqrt(20000)
        double[] p = probabilities(spec);
        double expectVar = 0;
        for (double q : p) {
            assertTrue(q < 1, "the spec keeps every probability below 1");
            expectVar += q * (1 - q);
        }
        assertEquals(4.0, mean(counts), 5 * Math.sqrt(expectVar / rows), "mean active features per token");
        assertEquals(expectVar, variance(counts), 0.1 * expectVar, "independent firing: Var(count) = sum p(1-p)");

        // per-feature frequency against p_i (binomial, 5 sigma)
        double magSum = 0;
        long magN = 0;
        for (int i = 0; i < N; i++) {
            int fired = 0;
            for (int r = 0; r < rows; r++) {
                double a = dec.coef[r * N + i];
                assertTrue(a > -1e-4 && a < 1 + 1e-4, "coefficient of feature " + i + " at row " + r + " = " + a);
                if (a > 1e-4) {
                    fired++;
                    magSum += a;
                    magN++;
                }
            }
            double sd = Math.sqrt(p[i] * (1 - p[i]) / rows);
            assertEquals(p[i], (double) fired / rows, 5 * sd + 1e-4, "firing frequency of feature " + i);
        }
        // magnitudes uniform in (0, 1]: mean 1/2, sd of the mean ~ 0.29 / sqrt(80000)
        assertEquals(0.5, magSum / magN, 0.01, "mean active magnitude");
    }

    @Test
    void meanActiveIsCappedPerFeature() {
        // meanActive close to the number of features: the first probabilities are capped just below 1
        SyntheticData.Spec spec = new SyntheticData.Spec(D, N, N - 1, 0.5, 0, 1, 0, 6);
        SyntheticData s = new SyntheticData(spec);
        int rows = 3000;
        float[] x = generate(s, rows);
        Decomposition dec = new Decomposition(s.features(), N, D, x, rows);
        int fired0 = 0;
        for (int r = 0; r < rows; r++) if (dec.coef[r * N] > 1e-4) fired0++;
        // it fires on every token; a magnitude below the 1e-4 detection level has probability 1e-4
        assertTrue(fired0 >= rows - 6, "feature 0 (probability capped at 1 - 1e-12) fires on every token, seen on "
                + fired0 + " of " + rows);
        for (double v : x) assertTrue(Float.isFinite((float) v), "finite activations");
    }

    @Test
    void correlationIncreasesCoActivation() {
        int rows = 20000;
        SyntheticData.Spec indep = new SyntheticData.Spec(D, N, 4, 0.95, 0, 1, 0, 9);
        SyntheticData.Spec corr = new SyntheticData.Spec(D, N, 4, 0.95, 0.8, 1, 0, 9);
        SyntheticData si = new SyntheticData(indep), sc = new SyntheticData(corr);
        assertArrayEquals(si.features(), sc.features(), "correlation does not change the features");
        int[] ci = activeCounts(new Decomposition(si.features(), N, D, generate(si, rows), rows), rows, N);
        int[] cc = activeCounts(new Decomposition(sc.features(), N, D, generate(sc, rows), rows), rows, N);
        // the copula keeps each feature's marginal: the mean count is unchanged ...
        assertEquals(4.0, mean(ci), 0.1, "independent: mean active");
        assertEquals(4.0, mean(cc), 0.25, "correlated: mean active (marginals kept)");
        // ... but features fire together: the count per token is far more spread out
        assertTrue(variance(cc) > 2 * variance(ci),
                "correlation 0.8 should spread the active count: variance " + variance(cc) + " vs " + variance(ci));
        int emptyI = 0, emptyC = 0;
        for (int r = 0; r < rows; r++) {
            if (ci[r] == 0) emptyI++;
            if (cc[r] == 0) emptyC++;
        }
        assertTrue(emptyC > 2 * emptyI, "correlated firing leaves more tokens with no feature: " + emptyC + " vs " + emptyI);
    }

    @Test
    void groupsCorrelateWithinNotAcross() {
        // with many groups the shared normals are independent across groups, so the count's
        // variance lies between the independent case and the single-group case
        int rows = 20000;
        int[][] counts = new int[3][];
        int k = 0;
        for (int groups : new int[] {1, 8, 1}) {
            double rho = k == 2 ? 0 : 0.8;
            SyntheticData s = new SyntheticData(new SyntheticData.Spec(D, N, 4, 0.95, rho, groups, 0, 10));
            counts[k++] = activeCounts(new Decomposition(s.features(), N, D, generate(s, rows), rows), rows, N);
        }
        double one = variance(counts[0]), eight = variance(counts[1]), none = variance(counts[2]);
        assertTrue(one > eight && eight > none,
                "Var(count): one group " + one + " > eight groups " + eight + " > independent " + none);
    }

    @Test
    void noiseHasTheRequestedStd() {
        // the part of the noise orthogonal to the N features has (D - N) sigma^2 expected squared norm
        int rows = 4000;
        double sigma = 0.05;
        SyntheticData s = new SyntheticData(new SyntheticData.Spec(D, N, 4, 0.95, 0, 1, sigma, 11));
        Decomposition dec = new Decomposition(s.features(), N, D, generate(s, rows), rows);
        double sum = 0;
        for (double r : dec.residualSq) sum += r;
        double perToken = sum / rows, expect = (D - N) * sigma * sigma;
        assertEquals(expect, perToken, 0.05 * expect, "residual noise energy per token");
    }

    @Test
    void inverseNormalMatchesKnownQuantiles() {
        assertEquals(0.0, SyntheticData.inverseNormal(0.5), 1e-12, "median");
        assertEquals(1.959964, SyntheticData.inverseNormal(0.975), 1e-6, "97.5%");
        assertEquals(-1.959964, SyntheticData.inverseNormal(0.025), 1e-6, "2.5%");
        assertEquals(-3.090232, SyntheticData.inverseNormal(0.001), 1e-6, "0.1% (lower tail branch)");
        assertEquals(3.090232, SyntheticData.inverseNormal(0.999), 1e-6, "99.9% (upper tail branch)");
        assertEquals(1.281552, SyntheticData.inverseNormal(0.9), 1e-6, "90%");
        assertEquals(-0.674490, SyntheticData.inverseNormal(0.25), 1e-6, "25%");
        assertEquals(-4.753424, SyntheticData.inverseNormal(1e-6), 1e-5, "1e-6");
        assertEquals(-7.034484, SyntheticData.inverseNormal(1e-12), 1e-4, "1e-12 (the recipe's cap)");
        // symmetric and monotone, including across the branch points 0.02425 and 0.97575
        double prev = Double.NEGATIVE_INFINITY;
        for (double p = 0.0005; p < 1; p += 0.0005) {
            double q = SyntheticData.inverseNormal(p);
            assertTrue(q > prev, "monotone at p = " + p);
            assertEquals(-q, SyntheticData.inverseNormal(1 - p), 1e-8, "symmetric at p = " + p);
            prev = q;
        }
        // round trip through the normal CDF (erf-free check by numeric integration of the density)
        for (double p : new double[] {0.02, 0.02425, 0.03, 0.2, 0.6, 0.97}) {
            double z = SyntheticData.inverseNormal(p);
            assertEquals(p, normalCdf(z), 1e-7, "Phi(inverseNormal(" + p + "))");
        }
        for (double bad : new double[] {0, 1, -0.1, 1.5, Double.NaN})
            assertThrows(IllegalArgumentException.class, () -> SyntheticData.inverseNormal(bad), "p = " + bad);
    }

    /** Phi(z) by Simpson's rule on the density from -12 to z. */
    private static double normalCdf(double z) {
        int steps = 200000;
        double a = -12, h = (z - a) / steps, s = 0;
        for (int i = 0; i <= steps; i++) {
            double t = a + i * h, f = Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
            s += f * (i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2));
        }
        return s * h / 3;
    }

    @Test
    void gaussianHasUnitVariance() {
        SplittableRandom r = new SplittableRandom(12);
        int n = 200000;
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++) {
            double g = SyntheticData.gaussian(r);
            assertTrue(Double.isFinite(g), "finite draw");
            s += g;
            ss += g * g;
        }
        assertEquals(0, s / n, 0.015, "mean of standard normal draws");
        assertEquals(1, ss / n, 0.015, "second moment of standard normal draws");
    }

    @Test
    void specValidation() {
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(0, 5, 1, 0.9, 0, 1, 0, 0), "d = 0");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 0, 1, 0.9, 0, 1, 0, 0), "features = 0");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 0, 0.9, 0, 1, 0, 0), "meanActive 0");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 6, 0.9, 0, 1, 0, 0), "meanActive > n");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, Double.NaN, 0.9, 0, 1, 0, 0), "NaN");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 1, 0, 0, 1, 0, 0), "decay 0");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 1, 1.1, 0, 1, 0, 0), "decay > 1");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 1, 0.9, 1, 1, 0, 0), "corr 1");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 1, 0.9, -0.1, 1, 0, 0), "corr < 0");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 1, 0.9, 0, 0, 0, 0), "groups 0");
        assertThrows(IllegalArgumentException.class, () -> new SyntheticData.Spec(5, 5, 1, 0.9, 0, 1, -1, 0), "noise < 0");
        SyntheticData.Spec d = SyntheticData.Spec.of(16, 3, 7);
        assertEquals(3, d.meanActive(), 0, "Spec.of caps meanActive at the number of features");
        assertEquals(5, SyntheticData.Spec.of(16, 32, 7).meanActive(), 0, "Spec.of default meanActive");
        SyntheticData s = new SyntheticData(d);
        assertThrows(IllegalArgumentException.class, () -> s.next(new float[16 * 2], 3), "destination too small");
    }
}
