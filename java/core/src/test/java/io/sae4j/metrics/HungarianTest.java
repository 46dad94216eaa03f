package io.sae4j.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HungarianTest {

  // ---- helpers ----

  private static float[] random(Random rnd, int n1, int n2) {
    float[] s = new float[n1 * n2];
    for (int k = 0; k < s.length; k++) s[k] = rnd.nextFloat() * 2f - 1f; // cosines in [-1, 1)
    return s;
  }

  /** Checks the matching is one-to-one and covers min(n1, n2) pairs; returns its total score. */
  private static double checkedTotal(float[] s, int n1, int n2, int[] match) {
    assertEquals(n1, match.length);
    boolean[] colUsed = new boolean[n2];
    int pairs = 0;
    double total = 0;
    for (int i = 0; i < n1; i++) {
      int j = match[i];
      if (j == -1) continue;
      assertTrue(j >= 0 && j < n2, "column out of range: " + j);
      assertFalse(colUsed[j], "column matched twice: " + j);
      colUsed[j] = true;
      pairs++;
      total += s[i * n2 + j];
    }
    assertEquals(Math.min(n1, n2), pairs, "number of matched pairs");
    return total;
  }

  /** Best total over all one-to-one assignments covering the smaller side, by enumeration. */
  private static double bruteForce(float[] s, int n1, int n2) {
    return n1 <= n2
        ? best(s, n1, n2, false, 0, new boolean[n2])
        : best(s, n2, n1, true, 0, new boolean[n1]);
  }

  private static double best(float[] s, int n, int m, boolean t, int r, boolean[] used) {
    if (r == n) return 0;
    double best = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < m; c++) {
      if (used[c]) continue;
      used[c] = true;
      double w = t ? s[c * n + r] : s[r * m + c];
      best = Math.max(best, w + best(s, n, m, t, r + 1, used));
      used[c] = false;
    }
    return best;
  }

  /**
   * Independent optimality certificate: a matching that covers the smaller side is maximum-weight
   * iff its exchange graph has no negative cycle. Nodes: rows, columns and a sink Z on the larger
   * side's free end. Edges: unmatched pair (i, j) gives row -> col with weight -w; matched pair
   * gives col -> row with weight +w; (n1 > n2) every row -> Z with 0 and Z -> free row with 0.
   * A negative cycle is a swap that raises the total. Detected by Bellman-Ford from all nodes.
   */
  private static boolean hasImprovingCycle(float[] s, int n1, int n2, int[] match) {
    // orient so that rows are the larger side (rows may stay free)
    boolean t = n1 < n2;
    int r = t ? n2 : n1, c = t ? n1 : n2;
    int[] colToRow = new int[c];
    Arrays.fill(colToRow, -1);
    int[] rowToCol = new int[r];
    Arrays.fill(rowToCol, -1);
    for (int i = 0; i < n1; i++) {
      if (match[i] < 0) continue;
      int row = t ? match[i] : i, col = t ? i : match[i];
      rowToCol[row] = col;
      colToRow[col] = row;
    }
    int nodes = r + c + 1, z = r + c;
    double[] dist = new double[nodes]; // all zero: a virtual source to every node
    double eps = 1e-9;
    for (int iter = 0; iter <= nodes; iter++) {
      boolean changed = false;
      for (int row = 0; row < r; row++) {
        for (int col = 0; col < c; col++) {
          double w = t ? s[col * n2 + row] : s[row * n2 + col];
          if (rowToCol[row] == col) { // col -> row, +w
            if (dist[r + col] + w < dist[row] - eps) { dist[row] = dist[r + col] + w; changed = true; }
          } else { // row -> col, -w
            if (dist[row] - w < dist[r + col] - eps) { dist[r + col] = dist[row] - w; changed = true; }
          }
        }
        if (dist[row] < dist[z] - eps) { dist[z] = dist[row]; changed = true; }
        if (rowToCol[row] < 0 && dist[z] < dist[row] - eps) { dist[row] = dist[z]; changed = true; }
      }
      if (!changed) return false;
    }
    return true;
  }

  // ---- tests ----

  @Test
  void matchesBruteForceOnSmallRandomMatrices() {
    Random rnd = new Random(12345);
    int[][] shapes = {
      {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7},
      {3, 5}, {5, 3}, {2, 7}, {7, 2}, {4, 6}, {6, 4}, {1, 7}, {7, 1}
    };
    for (int[] sh : shapes) {
      for (int trial = 0; trial < 20; trial++) {
        int n1 = sh[0], n2 = sh[1];
        float[] s = random(rnd, n1, n2);
        double got = checkedTotal(s, n1, n2, Hungarian.maximize(s, n1, n2));
        assertEquals(bruteForce(s, n1, n2), got, 1e-9, n1 + "x" + n2 + " trial " + trial);
      }
    }
  }

  @Test
  void smallIntegerScoresWithManyTiesMatchBruteForce() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      int n1 = 1 + rnd.nextInt(6), n2 = 1 + rnd.nextInt(6);
      float[] s = new float[n1 * n2];
      for (int k = 0; k < s.length; k++) s[k] = rnd.nextInt(3) - 1; // -1, 0, 1
      double got = checkedTotal(s, n1, n2, Hungarian.maximize(s, n1, n2));
      assertEquals(bruteForce(s, n1, n2), got, 0.0, n1 + "x" + n2 + " trial " + trial);
    }
  }

  @Test
  void recoversIdentityAndPermutation() {
    int n = 50;
    Random rnd = new Random(3);
    float[] s = new float[n * n];
    for (int k = 0; k < s.length; k++) s[k] = rnd.nextFloat() * 0.1f;
    for (int i = 0; i < n; i++) s[i * n + i] = 1f;
    int[] expected = new int[n];
    Arrays.setAll(expected, i -> i);
    assertArrayEquals(expected, Hungarian.maximize(s, n, n));

    int[] perm = new int[n];
    Arrays.setAll(perm, i -> (i * 17 + 5) % n); // 17 coprime with 50: a permutation
    float[] q = new float[n * n];
    for (int k = 0; k < q.length; k++) q[k] = rnd.nextFloat() * 0.1f - 0.05f;
    for (int i = 0; i < n; i++) q[i * n + perm[i]] = 0.9f;
    assertArrayEquals(perm, Hungarian.maximize(q, n, n));
  }

  @Test
  void beatsGreedyTrap() {
    // greedy would take (0,0)=10 and then be forced to (1,1)=-100; optimum is 9 + 9
    float[] s = {10, 9, 9, -100};
    assertArrayEquals(new int[] {1, 0}, Hungarian.maximize(s, 2, 2));
  }

  @Test
  void allTiesGiveAValidMatching() {
    for (int[] sh : new int[][] {{4, 4}, {3, 6}, {6, 3}}) {
      int n1 = sh[0], n2 = sh[1];
      float[] s = new float[n1 * n2];
      Arrays.fill(s, 0.5f);
      double total = checkedTotal(s, n1, n2, Hungarian.maximize(s, n1, n2));
      assertEquals(0.5 * Math.min(n1, n2), total, 1e-12);
    }
  }

  @Test
  void oneByOneAndSingleRowOrColumn() {
    assertArrayEquals(new int[] {0}, Hungarian.maximize(new float[] {-0.3f}, 1, 1));
    assertArrayEquals(new int[] {3}, Hungarian.maximize(new float[] {0.1f, -0.5f, 0.2f, 0.7f, 0.6f}, 1, 5));
    // 5x1: only the best row gets the single column
    assertArrayEquals(
        new int[] {-1, -1, -1, 0, -1},
        Hungarian.maximize(new float[] {0.1f, -0.5f, 0.2f, 0.7f, 0.6f}, 5, 1));
  }

  @Test
  void allNegativeScores() {
    // each row must still be matched (covers the smaller side), choosing the least bad total
    float[] s = {-0.9f, -0.1f, -0.5f, -0.2f, -0.8f, -0.7f};
    int[] m = Hungarian.maximize(s, 2, 3);
    assertEquals(bruteForce(s, 2, 3), checkedTotal(s, 2, 3, m), 1e-9);
    assertArrayEquals(new int[] {1, 0}, m);
    Random rnd = new Random(11);
    for (int trial = 0; trial < 20; trial++) {
      float[] q = random(rnd, 5, 4);
      for (int k = 0; k < q.length; k++) q[k] = -Math.abs(q[k]);
      assertEquals(bruteForce(q, 5, 4), checkedTotal(q, 5, 4, Hungarian.maximize(q, 5, 4)), 1e-9);
    }
  }

  @Test
  void largeRectangularIsOptimalByExchangeGraphCertificate() {
    Random rnd = new Random(2024);
    for (int[] sh : new int[][] {{300, 200}, {200, 300}, {120, 120}}) {
      int n1 = sh[0], n2 = sh[1];
      float[] s = random(rnd, n1, n2);
      int[] m = Hungarian.maximize(s, n1, n2);
      checkedTotal(s, n1, n2, m);
      assertFalse(hasImprovingCycle(s, n1, n2, m), n1 + "x" + n2 + " not optimal");
    }
  }

  @Test
  void certificateDetectsASuboptimalMatching() {
    // sanity check of the test's own certificate
    Random rnd = new Random(5);
    float[] s = random(rnd, 30, 20);
    int[] m = Hungarian.maximize(s, 30, 20);
    int a = -1, b = -1;
    for (int i = 0; i < 30; i++) {
      if (m[i] >= 0 && a < 0) a = i;
      else if (m[i] >= 0 && b < 0) b = i;
    }
    int[] swapped = m.clone();
    swapped[a] = m[b];
    swapped[b] = m[a];
    int free = -1;
    for (int i = 0; i < 30 && free < 0; i++) if (m[i] < 0) free = i;
    int[] freed = m.clone();
    freed[free] = m[a];
    freed[a] = -1;
    // a unique optimum is almost sure with random floats, so both perturbations lose
    assertTrue(hasImprovingCycle(s, 30, 20, swapped));
    assertTrue(hasImprovingCycle(s, 30, 20, freed));
  }

  @Test
  void doubleInputAgreesWithFloat() {
    Random rnd = new Random(99);
    float[] s = random(rnd, 40, 60);
    double[] d = new double[s.length];
    for (int k = 0; k < s.length; k++) d[k] = s[k];
    assertArrayEquals(Hungarian.maximize(s, 40, 60), Hungarian.maximize(d, 40, 60));
    float[] st = random(rnd, 60, 40);
    double[] dt = new double[st.length];
    for (int k = 0; k < st.length; k++) dt[k] = st[k];
    assertArrayEquals(Hungarian.maximize(st, 60, 40), Hungarian.maximize(dt, 60, 40));
  }

  @Test
  void matchReportsMeanAndFraction() {
    float[] s = {0.9f, 0.1f, 0.0f, 0.2f, 0.4f, 0.3f}; // 3x2: rows 0 and 2 take cols 0 and 1
    Hungarian.Result r = Hungarian.match(s, 3, 2, 0.5);
    assertArrayEquals(new int[] {0, -1, 1}, r.rowToCol());
    assertEquals((0.9f + 0.3f) / 2.0, r.meanMatched(), 1e-7);
    assertEquals(0.5, r.fractionAtLeast(), 0.0);
    assertEquals(0.5, r.threshold(), 0.0);

    double[] d = {0.9, 0.1, 0.0, 0.2, 0.4, 0.3};
    Hungarian.Result rd = Hungarian.match(d, 3, 2, 0.3);
    assertArrayEquals(new int[] {0, -1, 1}, rd.rowToCol());
    assertEquals(0.6, rd.meanMatched(), 1e-12);
    assertEquals(1.0, rd.fractionAtLeast(), 0.0);
  }

  @Test
  void badInputsAreRejected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Hungarian.maximize(new float[5], 2, 3));
    assertTrue(e.getMessage().contains("scores.length=5"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Hungarian.maximize(new float[0], 0, 3));
    assertTrue(e.getMessage().contains("n1=0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Hungarian.maximize(new double[0], 2, -1));
    assertTrue(e.getMessage().contains("n2=-1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Hungarian.maximize((float[]) null, 1, 1));

    float[] nan = new float[6];
    nan[5] = Float.NaN; // row 1, col 2
    e = assertThrows(IllegalArgumentException.class, () -> Hungarian.maximize(nan, 2, 3));
    assertTrue(e.getMessage().contains("row 1, col 2") && e.getMessage().contains("NaN"), e.getMessage());
    double[] inf = new double[6];
    inf[3] = Double.NEGATIVE_INFINITY; // row 1, col 0
    e = assertThrows(IllegalArgumentException.class, () -> Hungarian.maximize(inf, 2, 3));
    assertTrue(e.getMessage().contains("row 1, col 0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Hungarian.match(new float[4], 2, 2, Double.NaN));
  }
}
