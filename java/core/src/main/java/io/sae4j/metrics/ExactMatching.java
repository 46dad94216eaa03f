package io.sae4j.metrics;

import io.sae4j.backend.Backend;
import io.sae4j.backend.CosineTopK;
import io.sae4j.backend.FloatBuf;
import io.sae4j.backend.Matrix;
import io.sae4j.backend.VectorSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Exact one-to-one matching of two vector sets by cosine at any size, without the dense matrix
 * (DESIGN.md, Metrics: exact matching at any size). Three steps:
 * <ol>
 *   <li>candidates: the k largest |cos| of every vector against the other set, both directions,
 *       from the backend's {@link Backend#cosineTopK} (one pass over the matrix, never stored);
 *   <li>an assignment on the candidate graph ({@link SparseAssignment}), which also gives the LP
 *       duals: row profits U and column prices V;
 *   <li>a certificate that no entry of the full matrix violates the duals, w(i,j) <= U_i + V_j.
 *       An entry outside both lists is at most min(r_i, c_j) in |cos| (r_i, c_j: the last key of
 *       row i's and column j's list), so for each row the largest min(r_i, c_j) - V_j over all j,
 *       found by a binary search in the columns sorted by c_j, settles the row without touching
 *       the matrix. Only rows this bound cannot settle have their full rows computed (one
 *       backend block); entries that violate the duals join the graph and the solver runs again.
 * </ol>
 * Valid duals with every entry within them prove the assignment optimal for the float32 cosine
 * matrix the backend computes (its full rows; the lists' bounds are widened by their rounding
 * against those): {@link Matched#certified}. A backend whose GEMMs run in TF32 is refused. When the rounds run out first,
 * {@link Matched#gap} bounds how far the mean matched value can be from the optimum.
 * One candidate set serves both objectives: signed cosines (sae_overlap's matching) and |cos|
 * (PW-MCC), because |cos| bounds both.
 */
public final class ExactMatching {
    /** Candidates per vector and direction; the CUDA backend keeps at most 64. */
    public static final int DEFAULT_K = 32;
    static final int MAX_ROUNDS = 40;
    /** Double rounding of the solver's sums, well below a float cosine's own rounding. */
    static final double SLACK = 1e-9;
    /**
     * The candidate lists and the full rows are two float32 computations of the same cosines
     * (different normalisation and GEMM blocking) that may differ by a few ulps times sqrt(d): the
     * lists' bounds are widened by this many sqrt(d) ulps before they are trusted.
     */
    static final double ROUNDING_ULPS = 8;
    /** Largest block of full rows computed at once (floats). */
    private static final long EXPAND_BLOCK_FLOATS = 1L << 25;

    private final Backend backend;
    private final VectorSet rowSet, colSet; // problem rows are the smaller side
    private final boolean transposed;        // rows are b's vectors
    private final int n, m, k;
    private final int[][] edgeCol;
    private final float[][] edgeCos;
    private final float[] rowBound, colBound; // |cos| of any entry outside the lists is <= min of these
    private final int[] expansions;           // per row: how often its full row was searched
    private final double margin;              // on the lists' bounds: their rounding against the full rows
    private float[] unitRows, unitCols;       // both sides' unit vectors (n, d), (m, d), made on first need
    private int fullRowsComputed;
    private long solveNanos, certifyNanos;    // of the current solve()

    /**
     * One matching: {@code rowToCol[i]} is the vector of b matched to a's vector i (-1 when a is
     * the larger side and i is left out), {@code cosine[i]} its signed cosine.
     *
     * @param meanMatched mean over the min(n1, n2) pairs of the objective (cosine, or |cosine|)
     * @param certified the duals were checked against every entry of the matrix
     * @param gap proven bound on (optimal mean - meanMatched); 0 when certified
     * @param rounds solver runs; fullRows rows whose full cosines were computed (so far, for this
     *     candidate graph); edges in the graph at the end; solveSeconds and certifySeconds the time
     *     spent in the solver and in the certificate (full rows included) by this solve
     */
    public record Matched(int[] rowToCol, float[] cosine, boolean absolute, double meanMatched, boolean certified,
            double gap, int rounds, int fullRows, long edges, double solveSeconds, double certifySeconds) {
        /** Fraction of the pairs whose objective value (cosine, or |cosine|) is >= threshold. */
        public double fractionAtLeast(double threshold) {
            int pairs = 0, hits = 0;
            for (int i = 0; i < rowToCol.length; i++)
                if (rowToCol[i] >= 0) {
                    pairs++;
                    if ((absolute ? Math.abs(cosine[i]) : cosine[i]) >= threshold) hits++;
                }
            return pairs == 0 ? Double.NaN : (double) hits / pairs;
        }
    }

    private ExactMatching(Backend backend, VectorSet a, VectorSet b, int k) {
        if (a.dim() != b.dim())
            throw new IllegalArgumentException("matching: vectors of length " + a.dim() + " and " + b.dim());
        if (k < 1) throw new IllegalArgumentException("matching: k must be >= 1, got " + k);
        if (!backend.exactFloat32())
            throw new IllegalArgumentException("exact matching needs float32 GEMMs; " + backend.describe()
                    + " multiplies in TF32 (turn -Dsae4j.cuda.tf32 / SAE4J_CUDA_TF32 off)");
        this.backend = backend;
        transposed = a.count() > b.count();
        rowSet = transposed ? b : a;
        colSet = transposed ? a : b;
        n = Math.toIntExact(rowSet.count());
        m = Math.toIntExact(colSet.count());
        this.k = k;
        int kRow = Math.min(k, m), kCol = Math.min(k, n);
        CosineTopK.Lists lists;
        try (CosineTopK out = new CosineTopK(backend, n, m, kRow, kCol)) {
            backend.cosineTopK(rowSet, colSet, true, out);
            lists = out.toHost();
        }
        for (int x : lists.rowIdx()) if (x < 0) throw nonFinite();
        for (int x : lists.colIdx()) if (x < 0) throw nonFinite();
        margin = ROUNDING_ULPS * Math.sqrt(rowSet.dim()) * 0x1p-24;
        rowBound = new float[n];
        colBound = new float[m];
        for (int i = 0; i < n; i++) rowBound[i] = kRow == m ? Float.NEGATIVE_INFINITY : Math.abs(lists.rowVal()[i * kRow + kRow - 1]);
        for (int j = 0; j < m; j++) colBound[j] = kCol == n ? Float.NEGATIVE_INFINITY : Math.abs(lists.colVal()[j * kCol + kCol - 1]);
        // row i's edges: its own list, and every column list that names i
        int[] degree = new int[n];
        for (int i = 0; i < n; i++) degree[i] = kRow;
        for (int e = 0; e < lists.colIdx().length; e++) degree[lists.colIdx()[e]]++;
        edgeCol = new int[n][];
        edgeCos = new float[n][];
        for (int i = 0; i < n; i++) {
            edgeCol[i] = new int[degree[i]];
            edgeCos[i] = new float[degree[i]];
            System.arraycopy(lists.rowIdx(), i * kRow, edgeCol[i], 0, kRow);
            System.arraycopy(lists.rowVal(), i * kRow, edgeCos[i], 0, kRow);
            degree[i] = kRow;
        }
        for (int j = 0; j < m; j++)
            for (int q = 0; q < kCol; q++) {
                int i = lists.colIdx()[j * kCol + q];
                edgeCol[i][degree[i]] = j;
                edgeCos[i][degree[i]++] = lists.colVal()[j * kCol + q];
            }
        for (int i = 0; i < n; i++) dedupe(i);
        expansions = new int[n];
    }

    private static IllegalArgumentException nonFinite() {
        return new IllegalArgumentException("matching: some vectors hold NaN or infinite values (no cosine is defined)");
    }

    /** Candidate graph of a (n1) against b (n2) on the backend, k per vector and direction. */
    public static ExactMatching of(Backend backend, VectorSet a, VectorSet b, int k) {
        return new ExactMatching(backend, a, b, k);
    }

    public static ExactMatching of(Backend backend, VectorSet a, VectorSet b) {
        return of(backend, a, b, DEFAULT_K);
    }

    /** The optimal matching for the signed cosine (absolute false) or for |cosine| (PW-MCC). */
    public Matched solve(boolean absolute) {
        solveNanos = certifyNanos = 0;
        SparseAssignment.Result s = null;
        for (int round = 1; ; round++) {
            long t0 = System.nanoTime();
            s = SparseAssignment.solve(n, m, edgeCol, weights(absolute), s); // warm: the last round's column prices
            long t1 = System.nanoTime();
            solveNanos += t1 - t0;
            if (s.stuck().length > 0 && round < MAX_ROUNDS) {
                expand(s.stuck(), null, absolute); // more edges for rows the graph could not place
                certifyNanos += System.nanoTime() - t1;
                continue;
            }
            double[] worst = boundViolations(s, absolute);
            int[] suspicious = rowsAbove(worst, s.rowDual());
            boolean violated = suspicious.length > 0 && expand(suspicious, s, absolute);
            certifyNanos += System.nanoTime() - t1;
            if (!violated && s.stuck().length == 0) return result(s, absolute, true, 0, round);
            if (round >= MAX_ROUNDS) {
                double excess = 0;
                for (int i = 0; i < n; i++) excess += Math.max(0, worst[i] - s.rowDual()[i]);
                return result(s, absolute, false, s.stuck().length > 0 ? Double.POSITIVE_INFINITY : excess / n, round);
            }
        }
    }

    private double[][] weights(boolean absolute) {
        double[][] w = new double[n][];
        for (int i = 0; i < n; i++) {
            w[i] = new double[edgeCos[i].length];
            for (int e = 0; e < w[i].length; e++) w[i][e] = absolute ? Math.abs(edgeCos[i][e]) : edgeCos[i][e];
        }
        return w;
    }

    /**
     * For each row, the largest bound min(r_i, c_j) - V_j over all columns: an upper bound on
     * w(i,j) - V_j for every entry outside the graph (and an overestimate for entries in it, which
     * the solver keeps within the duals anyway).
     */
    double[] boundViolations(SparseAssignment.Result s, boolean absolute) {
        Integer[] boxed = new Integer[m];
        for (int j = 0; j < m; j++) boxed[j] = j;
        Arrays.sort(boxed, (x, y) -> Float.compare(colBound[x], colBound[y]));
        float[] sortedBound = new float[m];
        double[] prefixMax = new double[m], suffixMinV = new double[m + 1];
        double[] v = s.colDual();
        for (int t = 0; t < m; t++) {
            int j = boxed[t];
            sortedBound[t] = colBound[j];
            prefixMax[t] = Math.max(t > 0 ? prefixMax[t - 1] : Double.NEGATIVE_INFINITY, colBound[j] - v[j]);
        }
        suffixMinV[m] = Double.POSITIVE_INFINITY;
        for (int t = m - 1; t >= 0; t--) suffixMinV[t] = Math.min(suffixMinV[t + 1], v[boxed[t]]);
        double[] worst = new double[n];
        for (int i = 0; i < n; i++) {
            float r = rowBound[i];
            int t = firstAtLeast(sortedBound, r); // columns [t, m) have c_j >= r_i: bound r_i
            double below = t > 0 ? prefixMax[t - 1] : Double.NEGATIVE_INFINITY;
            double above = t < m ? r - suffixMinV[t] : Double.NEGATIVE_INFINITY;
            worst[i] = Math.max(below, above) + margin;
        }
        return worst;
    }

    private static int firstAtLeast(float[] sorted, float x) {
        int lo = 0, hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private int[] rowsAbove(double[] worst, double[] rowDual) {
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < n; i++)
            if (worst[i] > rowDual[i] + SLACK) rows.add(i);
        return rows.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Computes the full rows of {@code rows}: with duals (s not null), adds every entry that violates
     * them and returns whether any did; without (stuck rows), adds the row's best entries. Either
     * way the row's bound becomes the largest |cos| still outside the graph (see {@link #widen}).
     */
    private boolean expand(int[] rows, SparseAssignment.Result s, boolean absolute) {
        AtomicBoolean violated = new AtomicBoolean();
        forFullRows(rows, (i, c, off) -> {
            if (widen(i, c, off, s, absolute)) violated.set(true);
        });
        return violated.get();
    }

    private interface FullRow {
        void accept(int row, float[] cosines, int offset);
    }

    /**
     * Each row of {@code rows} with its m cosines (c[off .. off + m)): unit vectors made on the host
     * once, blocks of rows against all columns by one backend GEMM each, rows handed out in parallel.
     */
    private void forFullRows(int[] rows, FullRow sink) {
        if (rows.length == 0) return;
        int d = Math.toIntExact(rowSet.dim());
        if (unitRows == null) {
            unitRows = unitVectorsOnHost(rowSet);
            unitCols = unitVectorsOnHost(colSet);
        }
        int per = (int) Math.max(1, Math.min(rows.length, EXPAND_BLOCK_FLOATS / m));
        float[] sub = new float[Math.multiplyExact(per, d)], full = new float[Math.multiplyExact(per, m)];
        try (FloatBuf cols = backend.upload(unitCols); FloatBuf subBuf = backend.allocate((long) per * d);
                FloatBuf out = backend.allocate((long) per * m)) {
            for (int r0 = 0; r0 < rows.length; r0 += per) {
                int count = Math.min(per, rows.length - r0);
                for (int q = 0; q < count; q++) System.arraycopy(unitRows, rows[r0 + q] * d, sub, q * d, d);
                backend.upload(sub, 0, subBuf, 0, count * d);
                backend.gemm(1f, Matrix.of(subBuf.slice(0, (long) count * d), count, d), Matrix.of(cols, m, d).t(), 0f,
                        Matrix.of(out.slice(0, (long) count * m), count, m));
                backend.download(out, 0, full, 0, count * m);
                fullRowsComputed += count;
                int base = r0;
                IntStream.range(0, count).parallel().forEach(q -> sink.accept(rows[base + q], full, q * m));
            }
        }
    }

    /** The assignment on the current graph (for tests of the certificate). */
    SparseAssignment.Result assign(boolean absolute) {
        return SparseAssignment.solve(n, m, edgeCol, weights(absolute));
    }

    /**
     * Entries of the full matrix with w(i,j) > U_i + V_j + SLACK under the duals of s: edges
     * checked directly, other entries through the bound, and exactly (full rows) only where the
     * bound cannot exclude them. Problem orientation (rows are the smaller side).
     */
    long violations(SparseAssignment.Result s, boolean absolute) {
        long count = 0;
        double[] u = s.rowDual(), v = s.colDual();
        for (int i = 0; i < n; i++)
            for (int e = 0; e < edgeCol[i].length; e++) {
                double w = absolute ? Math.abs(edgeCos[i][e]) : edgeCos[i][e];
                if (w > u[i] + v[edgeCol[i][e]] + SLACK) count++;
            }
        AtomicLong outside = new AtomicLong();
        forFullRows(rowsAbove(boundViolations(s, absolute), u), (i, c, off) -> {
            boolean[] inGraph = new boolean[m];
            for (int j : edgeCol[i]) inGraph[j] = true;
            for (int j = 0; j < m; j++) {
                double w = absolute ? Math.abs(c[off + j]) : c[off + j];
                if (!inGraph[j] && w > u[i] + v[j] + SLACK) outside.incrementAndGet();
            }
        });
        return count + outside.get();
    }

    /**
     * Adds entries of row i from its full row c[off .. off + m). Certifying (s not null): every entry
     * above the duals (w(i,j) > U_i + V_j); returns whether any exceeds them by more than SLACK. A row widened for the first time also gains
     * its best 2k entries by |cos| (k: the candidates per list), which tightens its bound for the
     * next rounds; a stuck row (s null) its best 4k, then 16k, then the whole row. The
     * row's bound becomes the largest |cos| still outside the graph. Rows are independent: widened
     * in parallel.
     */
    private boolean widen(int i, float[] c, int off, SparseAssignment.Result s, boolean absolute) {
        int[] cols = edgeCol[i]; // ascending
        float cut = Float.POSITIVE_INFINITY;
        if (s == null || expansions[i] == 0) {
            // sized by k, not by the row's degree: a hub row (in many column lists) must not snowball
            long keep = s != null ? 2L * k : expansions[i] >= 2 ? m : Math.min(m, (long) k * (expansions[i] == 0 ? 4 : 16));
            cut = keep >= m ? Float.NEGATIVE_INFINITY : cutForTop(c, off, m, (int) keep);
        }
        expansions[i]++;
        double ui = s == null ? 0 : s.rowDual()[i];
        double[] v = s == null ? null : s.colDual();
        int[] add = new int[16];
        int added = 0, e = 0;
        boolean violated = false;
        float bound = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < m; j++) {
            if (e < cols.length && cols[e] == j) {
                e++;
                continue;
            }
            float x = c[off + j], ax = Math.abs(x);
            boolean take;
            if (s != null) {
                double excess = (absolute ? ax : x) - ui - v[j];
                violated |= excess > SLACK;
                take = excess > 0 || ax >= cut;
            } else take = ax >= cut;
            if (take) {
                if (added == add.length) add = Arrays.copyOf(add, 2 * added);
                add[added++] = j;
            } else bound = Math.max(bound, ax);
        }
        if (added > 0) {
            int old = cols.length;
            edgeCol[i] = Arrays.copyOf(cols, old + added);
            edgeCos[i] = Arrays.copyOf(edgeCos[i], old + added);
            for (int q = 0; q < added; q++) {
                edgeCol[i][old + q] = add[q];
                edgeCos[i][old + q] = c[off + add[q]];
            }
            dedupe(i); // back to ascending columns
        }
        rowBound[i] = bound;
        return violated;
    }

    /**
     * A value t with at least k of |c[off + j]| (j < len) at or above it and few more: the lower edge
     * of the histogram bin (1/4096 of [0, 1]) that holds the k-th largest. One pass, no copy.
     */
    static float cutForTop(float[] c, int off, int len, int k) {
        final int bins = 4096;
        int[] count = new int[bins + 1];
        for (int j = 0; j < len; j++) count[Math.min(bins, (int) (Math.abs(c[off + j]) * bins))]++;
        int seen = 0;
        for (int b = bins; b >= 0; b--) {
            seen += count[b];
            if (seen >= k) return (float) b / bins;
        }
        return 0f;
    }

    private void dedupe(int i) {
        int deg = edgeCol[i].length;
        long[] packed = new long[deg]; // column in the high bits keeps one entry per column after sorting
        for (int e = 0; e < deg; e++) packed[e] = ((long) edgeCol[i][e] << 32) | (Float.floatToRawIntBits(edgeCos[i][e]) & 0xffffffffL);
        Arrays.sort(packed);
        int kept = 0;
        for (int e = 0; e < deg; e++)
            if (kept == 0 || (int) (packed[e] >>> 32) != edgeCol[i][kept - 1]) {
                edgeCol[i][kept] = (int) (packed[e] >>> 32);
                edgeCos[i][kept++] = Float.intBitsToFloat((int) packed[e]);
            }
        edgeCol[i] = Arrays.copyOf(edgeCol[i], kept);
        edgeCos[i] = Arrays.copyOf(edgeCos[i], kept);
    }

    private Matched result(SparseAssignment.Result s, boolean absolute, boolean certified, double gap, int rounds) {
        int n1 = transposed ? m : n;
        int[] rowToCol = new int[n1];
        float[] cosine = new float[n1];
        Arrays.fill(rowToCol, -1);
        Arrays.fill(cosine, Float.NaN);
        double sum = 0;
        long edges = 0;
        for (int i = 0; i < n; i++) {
            edges += edgeCol[i].length;
            int j = s.rowToCol()[i];
            if (j < 0) continue;
            float c = cosineOf(i, j);
            sum += absolute ? Math.abs(c) : c;
            int a = transposed ? j : i, b = transposed ? i : j;
            rowToCol[a] = b;
            cosine[a] = c;
        }
        return new Matched(rowToCol, cosine, absolute, sum / n, certified, gap, rounds, fullRowsComputed, edges,
                solveNanos / 1e9, certifyNanos / 1e9);
    }

    private float cosineOf(int i, int j) {
        int e = Arrays.binarySearch(edgeCol[i], j); // edges stay in ascending column order
        if (e < 0) throw new IllegalStateException("matched pair (" + i + ", " + j + ") is not an edge");
        return edgeCos[i][e];
    }

    /** The unit vectors of a set as rows (count, dim) on the host, normalised in double; zero stays zero. */
    private float[] unitVectorsOnHost(VectorSet set) {
        float[] raw = backend.download(set.data());
        int count = Math.toIntExact(set.count()), dim = Math.toIntExact(set.dim());
        float[] rows = new float[Math.multiplyExact(count, dim)];
        for (int i = 0; i < count; i++) {
            double ss = 0;
            for (int k = 0; k < dim; k++) {
                double x = set.columns() ? raw[k * count + i] : raw[i * dim + k];
                ss += x * x;
            }
            double inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
            for (int k = 0; k < dim; k++)
                rows[i * dim + k] = (float) ((set.columns() ? raw[k * count + i] : raw[i * dim + k]) * inv);
        }
        return rows;
    }
}
