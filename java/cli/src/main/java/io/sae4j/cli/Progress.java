package io.sae4j.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a long command on stderr: a redrawn bar with rate and ETA on a terminal, or plain
 * log lines (every 10% or 30 s) when stderr is not one, as in CI.
 */
final class Progress implements AutoCloseable {
    private final String label, unit;
    private final long total;
    private final boolean terminal;
    private final PrintStream out = System.err;
    private final long start = System.nanoTime();
    private long lastDraw, done, startValue; // the rate counts from startValue (a resumed run's first step)
    private int lastDecile = -1;
    private String note = "";

    Progress(String label, long total, String unit) {
        this.label = label;
        this.total = Math.max(1, total);
        this.unit = unit;
        this.terminal = System.console() != null && System.getenv("CI") == null;
    }

    /** Work already done before this command (a resumed run): shown, but not counted in the rate. */
    void resumeAt(long value) {
        startValue = done = Math.min(Math.max(0, value), total);
    }

    /** Extra text after the bar (e.g. the latest loss). */
    void note(String text) {
        note = text;
    }

    void update(long value) {
        done = Math.min(value, total);
        long now = System.nanoTime();
        if (terminal) {
            if (now - lastDraw > 200_000_000L || done == total) {
                lastDraw = now;
                out.print("\r" + line(true));
                out.flush();
            }
        } else {
            int decile = (int) (10 * done / total);
            if (decile > lastDecile || now - lastDraw > 30_000_000_000L) {
                lastDecile = decile;
                lastDraw = now;
                out.println(line(false));
            }
        }
    }

    private String line(boolean bar) {
        double secs = (System.nanoTime() - start) / 1e9, rate = (done - startValue) / Math.max(secs, 1e-9);
        double eta = rate > 0 ? (total - done) / rate : Double.NaN;
        StringBuilder b = new StringBuilder(label).append(' ');
        if (bar) {
            int width = 30, filled = (int) (width * done / total);
            b.append('[').append("#".repeat(filled)).append(".".repeat(width - filled)).append("] ");
        }
        b.append(String.format(Locale.ROOT, "%3d%% %d/%d %s, %s %s/s, ETA %s", 100 * done / total, done, total, unit,
                human(rate), unit, time(eta)));
        if (!note.isEmpty()) b.append("  ").append(note);
        return b.toString();
    }

    static String human(double v) {
        if (v >= 1e6) return String.format(Locale.ROOT, "%.1fM", v / 1e6);
        if (v >= 1e3) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String time(double s) {
        if (Double.isNaN(s) || Double.isInfinite(s)) return "?";
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", t / 3600, t / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60);
    }

    @Override
    public void close() {
        if (terminal) out.println();
        else if (done < total) out.println(line(false));
    }
}
