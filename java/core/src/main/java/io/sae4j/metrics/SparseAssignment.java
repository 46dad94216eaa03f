package io.sae4j.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Maximum-weight one-to-one assignment on a sparse bipartite graph: n rows, each matched to one of
 * its edges' columns, m >= n columns, each used at most once. Shortest augmenting paths (Dijkstra
 * with a binary heap over the reduced costs, as LAPJVsp) from a greedy start, in double precision,
 * on costs {@code -weight}.
 *
 * <p>The result carries the LP duals in maximisation form, row profits {@code rowDual} and column
 * prices {@code colDual}: {@code w(i,j) <= rowDual[i] + colDual[j]} on every edge, with equality
 * on matched edges, and {@code colDual[j] >= 0}, equal to 0 on every unmatched column (no row stuck). Those make
 * the assignment optimal for the graph, and for any larger graph (the full cosine matrix) whose
 * extra entries also satisfy the inequality: the certificate {@link ExactMatching} checks.
 *
 * <p>A row whose search reaches no free column (the graph has no assignment covering it given the
 * rows placed before) is left unmatched and reported in {@link Result#stuck}; the caller adds
 * edges and solves again.
 */
final class SparseAssignment {
    private SparseAssignment() {}

    /**
     * @param rowToCol column of each row, -1 for a stuck row
     * @param rowDual row profits (max form); colDual column prices (max form)
     * @param stuck rows left unmatched, ascending
     * @param searches shortest-path searches run: the rows the greedy start could not place (a
     *     warm start leaves fewer)
     */
    record Result(int[] rowToCol, double[] rowDual, double[] colDual, int[] stuck, int searches) {}

    /** Edges of row i: {@code cols[i][e]} with weight {@code weights[i][e]}; a column at most once a row. */
    static Result solve(int n, int m, int[][] cols, double[][] weights) {
        return solve(n, m, cols, weights, null);
    }

    /**
     * As {@link #solve(int, int, int[][], double[][])}, started from {@code warm}: an optimal
     * result on an earlier graph of the same rows and columns (typically this graph less the
     * edges a certificate round added). Its column prices stay, every row profit is set to the
     * largest the prices allow on the new edges, and each row keeps its column where that edge is
     * still tight; only the rows that lost it are searched again. Square graphs only: with spare
     * columns, a column that loses its row keeps its price, which the duals do not allow (unmatched
     * columns are unpriced), and that happened in most rounds tried; such graphs start cold. (A
     * square graph that leaves rows stuck leaves as many columns free, possibly priced: its result
     * is no optimum either way and the caller adds edges.)
     */
    static Result solve(int n, int m, int[][] cols, double[][] weights, Result warm) {
        if (n > m) throw new IllegalArgumentException("sparse assignment: more rows (" + n + ") than columns (" + m + ")");
        if (warm != null && (warm.rowToCol.length != n || warm.colDual.length != m))
            throw new IllegalArgumentException("sparse assignment: warm start of another size");
        if (n < m) warm = null;
        double[] u = new double[n], v = new double[m]; // min form: cost - u - v >= 0 on every edge
        if (warm != null)
            for (int j = 0; j < m; j++) v[j] = -warm.colDual[j];
        int[] x = new int[n], y = new int[m];
        Arrays.fill(x, -1);
        Arrays.fill(y, -1);
        // greedy start: each row's tightest edge (its earlier column first), taken when that column is free
        List<Integer> free = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int best = -1, previous = warm == null ? -1 : warm.rowToCol[i];
            double lowest = Double.POSITIVE_INFINITY;
            for (int e = 0; e < cols[i].length; e++) {
                double reduced = -weights[i][e] - v[cols[i][e]];
                if (reduced < lowest || (reduced == lowest && cols[i][e] == previous)) {
                    lowest = reduced;
                    best = cols[i][e];
                }
            }
            u[i] = lowest;
            if (best >= 0 && y[best] < 0) {
                x[i] = best;
                y[best] = i;
            } else free.add(i);
        }
        Search search = new Search(m);
        List<Integer> stuck = new ArrayList<>();
        for (int s : free)
            if (!search.augment(s, cols, weights, u, v, x, y)) stuck.add(s);
        double[] rowDual = new double[n], colDual = new double[m];
        for (int i = 0; i < n; i++) rowDual[i] = -u[i];
        for (int j = 0; j < m; j++) colDual[j] = v[j] == 0 ? 0 : -v[j];
        return new Result(x, rowDual, colDual, stuck.stream().mapToInt(Integer::intValue).toArray(), free.size());
    }

    /** One Dijkstra search at a time; its arrays are reused and reset only where touched. */
    private static final class Search {
        final double[] dist;
        final int[] prevRow, heap, pos, scanned, touched;
        int heapSize, scannedCount, touchedCount;

        Search(int m) {
            dist = new double[m];
            prevRow = new int[m];
            heap = new int[m];
            pos = new int[m];
            scanned = new int[m];
            touched = new int[m];
            Arrays.fill(dist, Double.POSITIVE_INFINITY);
            Arrays.fill(pos, -1);
        }

        /** Matches free row s along a shortest augmenting path; false when none exists (only u[s] changed). */
        boolean augment(int s, int[][] cols, double[][] w, double[] u, double[] v, int[] x, int[] y) {
            int[] cs = cols[s];
            if (cs.length == 0) return false;
            double us = Double.POSITIVE_INFINITY; // the largest u_s keeping s's reduced costs >= 0
            for (int e = 0; e < cs.length; e++) us = Math.min(us, -w[s][e] - v[cs[e]]);
            u[s] = us;
            heapSize = scannedCount = touchedCount = 0;
            for (int e = 0; e < cs.length; e++) relax(cs[e], -w[s][e] - us - v[cs[e]], s);
            int sink = -1;
            double reach = 0;
            while (heapSize > 0) {
                int j = pop();
                scanned[scannedCount++] = j;
                if (y[j] < 0) {
                    sink = j;
                    reach = dist[j];
                    break;
                }
                int i = y[j];
                double base = dist[j]; // reduced cost of the matched edge (i, j) is 0
                int[] ci = cols[i];
                double[] wi = w[i];
                for (int e = 0; e < ci.length; e++) {
                    int jj = ci[e];
                    if (pos[jj] == -2) continue; // scanned
                    relax(jj, base + (-wi[e] - u[i] - v[jj]), i);
                }
            }
            if (sink >= 0) {
                // potentials: scanned columns and the rows matched to them shift by reach - dist
                for (int q = 0; q < scannedCount; q++) {
                    int j = scanned[q];
                    double shift = reach - dist[j];
                    if (shift > 0) {
                        v[j] -= shift;
                        if (y[j] >= 0) u[y[j]] += shift;
                    }
                }
                u[s] += reach;
                for (int j = sink; ; ) { // flip the path
                    int i = prevRow[j], next = x[i];
                    x[i] = j;
                    y[j] = i;
                    if (i == s) break;
                    j = next;
                }
            }
            for (int q = 0; q < touchedCount; q++) { // reset what this search touched
                int j = touched[q];
                dist[j] = Double.POSITIVE_INFINITY;
                pos[j] = -1;
            }
            return sink >= 0;
        }

        private void relax(int j, double d, int from) {
            if (d >= dist[j]) return;
            if (pos[j] == -1) {
                touched[touchedCount++] = j;
                pos[j] = heapSize;
                heap[heapSize++] = j;
            }
            dist[j] = d;
            prevRow[j] = from;
            siftUp(pos[j]);
        }

        private int pop() {
            int top = heap[0];
            pos[top] = -2;
            int last = heap[--heapSize];
            if (heapSize > 0) {
                heap[0] = last;
                pos[last] = 0;
                siftDown(0);
            }
            return top;
        }

        /** Heap order: distance, then column index (deterministic results). */
        private boolean less(int a, int b) {
            return dist[a] < dist[b] || (dist[a] == dist[b] && a < b);
        }

        private void siftUp(int p) {
            int j = heap[p];
            while (p > 0) {
                int parent = (p - 1) >> 1;
                if (!less(j, heap[parent])) break;
                heap[p] = heap[parent];
                pos[heap[p]] = p;
                p = parent;
            }
            heap[p] = j;
            pos[j] = p;
        }

        private void siftDown(int p) {
            int j = heap[p];
            while (true) {
                int c = 2 * p + 1;
                if (c >= heapSize) break;
                if (c + 1 < heapSize && less(heap[c + 1], heap[c])) c++;
                if (!less(heap[c], j)) break;
                heap[p] = heap[c];
                pos[heap[p]] = p;
                p = c;
            }
            heap[p] = j;
            pos[j] = p;
        }
    }
}
