package io.sae4j.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The sparse solver started warm (from the optimum of a graph with fewer edges, as each certificate
 * round does) against the dense Hungarian solver and against itself started cold: the same optimal
 * total, and duals that prove it (every edge within them, matched edges tight, unmatched columns
 * unpriced), on square and rectangular graphs with tied weights, also after a first round that left
 * rows stuck. (Rectangular graphs start cold by design: that they still come out right is checked too.)
 */
class SparseAssignmentTest {
    private static final double NO_EDGE = -1e6;

    /** Dense weights with NO_EDGE off the graph: perRow random edges a row, and row i's own column perm[i] (a full matching). */
    private static double[][] randomGraph(Random r, int n, int m, int perRow, boolean ties, int[] perm) {
        double[][] dense = new double[n][m];
        for (double[] row : dense) Arrays.fill(row, NO_EDGE);
        for (int i = 0; i < n; i++) {
            if (perm != null) dense[i][perm[i]] = weight(r, ties);
            for (int e = 0; e < perRow; e++) dense[i][r.nextInt(m)] = weight(r, ties);
        }
        return dense;
    }

    private static double weight(Random r, boolean ties) {
        return ties ? r.nextInt(5) / 4.0 : r.nextDouble() * 2 - 1;
    }

    private static int[] shuffled(Random r, int m) {
        int[] p = new int[m];
        for (int j = 0; j < m; j++) p[j] = j;
        for (int j = m - 1; j > 0; j--) {
            int k = r.nextInt(j + 1), t = p[j];
            p[j] = p[k];
            p[k] = t;
        }
        return p;
    }

    private static SparseAssignment.Result solve(double[][] dense, int m, SparseAssignment.Result warm) {
        int n = dense.length;
        int[][] cols = new int[n][];
        double[][] w = new double[n][];
        for (int i = 0; i < n; i++) {
            int[] c = new int[m];
            int count = 0;
            for (int j = 0; j < m; j++) if (dense[i][j] != NO_EDGE) c[count++] = j;
            cols[i] = Arrays.copyOf(c, count);
            w[i] = new double[count];
            for (int e = 0; e < count; e++) w[i][e] = dense[i][cols[i][e]];
        }
        return SparseAssignment.solve(n, m, cols, w, warm);
    }

    /** The total of s, after checking that its duals prove it optimal on the graph. */
    private static double provenTotal(double[][] dense, int m, SparseAssignment.Result s, String what) {
        int n = dense.length;
        assertEquals(0, s.stuck().length, what + ": stuck rows");
        boolean[] used = new boolean[m];
        double total = 0;
        for (int i = 0; i < n; i++) {
            int j = s.rowToCol()[i];
            assertFalse(used[j], what + ": column " + j + " twice");
            used[j] = true;
            total += dense[i][j];
            assertEquals(dense[i][j], s.rowDual()[i] + s.colDual()[j], 1e-9, what + ": matched edge (" + i + "," + j + ") not tight");
            for (int c = 0; c < m; c++)
                if (dense[i][c] != NO_EDGE)
                    assertTrue(dense[i][c] <= s.rowDual()[i] + s.colDual()[c] + 1e-9, what + ": edge (" + i + "," + c + ") above the duals");
        }
        for (int j = 0; j < m; j++) {
            assertTrue(s.colDual()[j] >= 0, what + ": negative price on column " + j);
            if (!used[j]) assertEquals(0, s.colDual()[j], what + ": unmatched column " + j + " priced");
        }
        return total;
    }

    @Test
    void warmStartAfterAddedEdgesEqualsColdAndDenseHungarian() {
        Random r = new Random(71);
        int stuckRounds = 0, warmSearches = 0, coldSearches = 0;
        for (int trial = 0; trial < 40; trial++) {
            int n = 20 + r.nextInt(40), m = trial % 2 == 0 ? n : n + 1 + r.nextInt(30);
            boolean ties = trial % 4 >= 2;
            // every fifth: the first graph has no full matching (stuck rows), the second has
            boolean stuckFirst = trial % 5 == 4;
            int[] perm = shuffled(r, m);
            double[][] thin = randomGraph(r, n, m, 1, ties, stuckFirst ? null : perm), wide = new double[n][];
            for (int i = 0; i < n; i++) {
                wide[i] = thin[i].clone();
                if (stuckFirst || r.nextInt(5) == 0) // a round's new edges: a fifth of the rows, as a certificate adds them
                    for (int e = 0; e < 3; e++) wide[i][r.nextInt(m)] = weight(r, ties);
                if (stuckFirst) wide[i][perm[i]] = weight(r, ties);
            }
            String what = "trial " + trial + " (" + n + "x" + m + (ties ? ", ties" : "") + (stuckFirst ? ", stuck first)" : ")");
            SparseAssignment.Result first = solve(thin, m, null);
            if (stuckFirst) stuckRounds += first.stuck().length > 0 && n == m ? 1 : 0; // rectangular ones start cold
            else provenTotal(thin, m, first, what + " first round");
            SparseAssignment.Result warmResult = solve(wide, m, first), coldResult = solve(wide, m, null);
            double warm = provenTotal(wide, m, warmResult, what + " warm");
            double cold = provenTotal(wide, m, coldResult, what + " cold");
            if (n == m && !stuckFirst) {
                warmSearches += warmResult.searches();
                coldSearches += coldResult.searches();
                // warm from this graph's own optimum: rows keep their columns; only a matched edge that
                // rounding leaves a hair above another edge's reduced cost is searched again
                int again = solve(wide, m, coldResult).searches();
                assertTrue(again <= n / 10, what + ": " + again + " searches warm from the optimum");
            }
            double[] score = new double[n * m];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < m; j++) score[i * m + j] = wide[i][j];
            int[] ref = Hungarian.maximize(score, n, m);
            double refTotal = 0;
            for (int i = 0; i < n; i++) refTotal += wide[i][ref[i]];
            assertEquals(cold, warm, 1e-9, what + ": warm against cold");
            assertEquals(refTotal, warm, 1e-6, what + ": warm against dense Hungarian");
        }
        assertTrue(stuckRounds >= 2, "square first rounds with stuck rows: " + stuckRounds);
        assertTrue(warmSearches * 2 < coldSearches, "square graphs, a fifth of the rows with new edges: searches warm " + warmSearches + ", cold " + coldSearches);
    }
}
