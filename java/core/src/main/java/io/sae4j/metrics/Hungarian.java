package io.sae4j.metrics;

import java.util.Arrays;
import java.util.function.IntToDoubleFunction;

/**
 * Exact maximum-weight one-to-one assignment for a dense {@code n1 x n2} score matrix (row-major),
 * e.g. matching the features of two SAEs by decoder cosine similarity. The assignment covers the
 * smaller side: exactly {@code min(n1, n2)} pairs, maximising the sum of their scores. Scores may
 * be negative.
 *
 * <p>Algorithm: the O(n^2 m) shortest-augmenting-path Hungarian algorithm (Kuhn-Munkres in the
 * potentials formulation of Jonker-Volgenant, as in Crouse 2016 / SciPy's linear_sum_assignment;
 * arrays {@code u, v, p, way}) on costs {@code -score}, in double precision, with n = min(n1, n2)
 * and m = max(n1, n2).
 *
 * <p>Exactness: each row is added by a Dijkstra search over the reduced costs {@code cost[i][j] -
 * u[i] - v[j]}, which the potentials keep non-negative, so the path found is a shortest augmenting
 * path; afterwards the potentials are shifted so that every matched pair is tight. Dual feasibility
 * plus complementary slackness is an LP optimality certificate, so the result is an exact optimum
 * (up to double rounding, around 1e-12 of the total), not a heuristic. When {@code n1 > n2} the
 * transposed problem is solved by transposed indexing, without copying the matrix; extra memory is
 * O(n1 + n2) besides the input.
 *
 * <p>Measured time (2-core machine, OpenJDK 17, one thread, median of a few runs, shared and noisy
 * machine so +-50%): random uniform [-1, 1) float scores: 1024x1024 0.07 s, 2048x2048 0.3 s,
 * 4096x4096 2 s, 8192x8192 8-13 s, 16384x16384 73 s. SAE-like scores (N(0, 0.05) noise, half the
 * rows with one partner scoring 0.5-1): 1024x1024 0.15 s, 2048x2048 0.3 s, 4096x4096 0.9 s,
 * 8192x8192 6 s, 16384x16384 19 s. Rectangular is much cheaper: 4096x8192 0.3 s, 8192x4096 0.6 s
 * (uniform). The adversarial {@code score[i][j] = i*j} hits the O(n^3) worst case: 1024x1024 0.6 s,
 * 2048x2048 5.7 s (so about 45 s at 4096). The algorithm itself runs to about 16384x16384, where
 * the 1 GiB float input, not the time, is the limit. sae4j's metrics use {@link ExactMatching}
 * (sparse candidates and a certificate, any size); this dense solver is its reference in tests.
 */
public final class Hungarian {

  private Hungarian() {}

  /**
   * Matched pairs and summary statistics.
   *
   * @param rowToCol column matched to each row, or -1 for rows left unmatched (when n1 > n2)
   * @param meanMatched mean score over the {@code min(n1, n2)} matched pairs
   * @param fractionAtLeast fraction of matched pairs whose score is {@code >= threshold}
   * @param threshold the threshold used for {@code fractionAtLeast}
   */
  public record Result(int[] rowToCol, double meanMatched, double fractionAtLeast, double threshold) {}

  /** Returns match[i] = column matched to row i, or -1 for rows left unmatched (when n1 > n2). */
  public static int[] maximize(float[] scores, int n1, int n2) {
    validate(scores == null ? -1 : scores.length, n1, n2);
    for (int k = 0; k < scores.length; k++) checkFinite(scores[k], k, n2);
    return solve(scores, null, n1, n2);
  }

  /** As {@link #maximize(float[], int, int)}, for double scores. */
  public static int[] maximize(double[] scores, int n1, int n2) {
    validate(scores == null ? -1 : scores.length, n1, n2);
    for (int k = 0; k < scores.length; k++) checkFinite(scores[k], k, n2);
    return solve(null, scores, n1, n2);
  }

  /**
   * Optimal assignment with the mean of matched scores and the fraction of matched pairs with
   * score {@code >= threshold}.
   */
  public static Result match(float[] scores, int n1, int n2, double threshold) {
    checkThreshold(threshold);
    return summarize(maximize(scores, n1, n2), n2, k -> scores[k], threshold);
  }

  /** As {@link #match(float[], int, int, double)}, for double scores. */
  public static Result match(double[] scores, int n1, int n2, double threshold) {
    checkThreshold(threshold);
    return summarize(maximize(scores, n1, n2), n2, k -> scores[k], threshold);
  }

  private static Result summarize(int[] match, int n2, IntToDoubleFunction score, double threshold) {
    double sum = 0;
    int hits = 0, pairs = 0;
    for (int i = 0; i < match.length; i++) {
      if (match[i] < 0) continue;
      double s = score.applyAsDouble(i * n2 + match[i]);
      sum += s;
      if (s >= threshold) hits++;
      pairs++;
    }
    return new Result(match, sum / pairs, (double) hits / pairs, threshold);
  }

  /**
   * Solves the problem with n = min(n1, n2) "rows" and m = max(n1, n2) "columns" (transposed when
   * n1 > n2), minimising cost = -score. Returns match[i] = column of original row i, or -1.
   */
  private static int[] solve(float[] f, double[] d, int n1, int n2) {
    boolean t = n1 > n2;
    int n = t ? n2 : n1, m = t ? n1 : n2;
    double[] u = new double[n], v = new double[m]; // dual potentials: cost[i][j] - u[i] - v[j] >= 0
    double[] minv = new double[m]; // shortest alternating-path length from the new row to column j
    int[] p = new int[m]; // p[j] = row matched to column j, or -1
    int[] way = new int[m]; // way[j] = row preceding column j on its shortest path
    int[] rowToCol = new int[n];
    int[] remaining = new int[m]; // columns not yet in the tree, first `left` entries
    boolean[] rowInTree = new boolean[n], colInTree = new boolean[m];
    Arrays.fill(p, -1);
    Arrays.fill(rowToCol, -1);
    for (int row = 0; row < n; row++) {
      Arrays.fill(minv, Double.POSITIVE_INFINITY);
      Arrays.fill(rowInTree, false);
      Arrays.fill(colInTree, false);
      for (int k = 0; k < m; k++) remaining[k] = k;
      int left = m, i = row, sink = -1;
      double minVal = 0;
      while (sink < 0) { // Dijkstra over reduced costs until a free column is reached
        rowInTree[i] = true;
        double ui = u[i], lowest = Double.POSITIVE_INFINITY;
        int best = -1;
        for (int k = 0; k < left; k++) {
          int j = remaining[k];
          double r = minVal - score(f, d, t, n2, i, j) - ui - v[j]; // cost = -score
          if (r < minv[j]) {
            minv[j] = r;
            way[j] = i;
          }
          if (minv[j] < lowest || (minv[j] == lowest && p[j] < 0)) { // ties: prefer a free column
            lowest = minv[j];
            best = k;
          }
        }
        minVal = lowest;
        int j = remaining[best];
        colInTree[j] = true;
        remaining[best] = remaining[--left];
        if (p[j] < 0) sink = j;
        else i = p[j];
      }
      // shift potentials so the tree's edges become tight and all reduced costs stay >= 0
      u[row] += minVal;
      for (int r = 0; r < n; r++) if (rowInTree[r] && r != row) u[r] += minVal - minv[rowToCol[r]];
      for (int j = 0; j < m; j++) if (colInTree[j]) v[j] -= minVal - minv[j];
      for (int j = sink; ; ) { // augment: flip the matched/unmatched edges along the path
        int r = way[j], next = rowToCol[r];
        p[j] = r;
        rowToCol[r] = j;
        if (r == row) break;
        j = next;
      }
    }
    if (!t) return rowToCol;
    int[] match = new int[n1];
    Arrays.fill(match, -1);
    for (int j = 0; j < m; j++) if (p[j] >= 0) match[j] = p[j]; // internal column = original row
    return match;
  }

  /** Score of internal row i against internal column j (transposed indexing when t). */
  private static double score(float[] f, double[] d, boolean t, int n2, int i, int j) {
    int k = t ? j * n2 + i : i * n2 + j;
    return f != null ? f[k] : d[k];
  }

  private static void validate(int length, int n1, int n2) {
    if (n1 < 1 || n2 < 1) {
      throw new IllegalArgumentException("n1 and n2 must be >= 1, got n1=" + n1 + ", n2=" + n2);
    }
    if (length < 0) throw new IllegalArgumentException("scores must not be null");
    if (length != (long) n1 * n2) {
      throw new IllegalArgumentException(
          "scores.length=" + length + " != n1*n2=" + ((long) n1 * n2) + " (n1=" + n1 + ", n2=" + n2 + ")");
    }
  }

  private static void checkFinite(double s, int k, int n2) {
    if (!Double.isFinite(s)) {
      throw new IllegalArgumentException(
          "score at row " + (k / n2) + ", col " + (k % n2) + " is " + s + " (must be finite)");
    }
  }

  private static void checkThreshold(double threshold) {
    if (Double.isNaN(threshold)) throw new IllegalArgumentException("threshold must not be NaN");
  }
}
