package io.sae4j.report;

import io.sae4j.report.StudyResults.Example;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * HTML building blocks for the report: escaping, number formatting (4 significant digits), tables,
 * sections, embedded figures and highlighted example contexts. Every piece of text from the results
 * passes through {@link #esc}; only {@link Raw} cells are inserted as they are.
 */
final class Html {
    private Html() {}

    /** Markup to insert unescaped (built here from escaped parts). */
    record Raw(String html) {}

    static final String CSS = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1180px;margin:24px auto;
              padding:0 20px;color:#1d232b;line-height:1.5;font-size:15px}
            h1{font-size:26px;margin-bottom:4px} h2{font-size:21px;margin-top:38px;border-bottom:2px solid #dde3ea;padding-bottom:4px}
            h3{font-size:17px;margin-top:22px} .meta{color:#5b6673;font-size:13px;margin-top:0}
            nav{background:#f4f6f9;border:1px solid #dde3ea;border-radius:6px;padding:8px 14px;font-size:14px;display:flex;flex-wrap:wrap;gap:4px 18px}
            nav a{white-space:nowrap}
            table{border-collapse:collapse;margin:10px 0 6px;font-size:13px}
            th,td{border:1px solid #d5dbe2;padding:3px 8px;text-align:left;vertical-align:top}
            th{background:#eef1f5;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
            tr:nth-child(even) td{background:#fafbfc}
            figure{margin:14px 0;display:inline-block;vertical-align:top} figure img{max-width:100%;height:auto;border:1px solid #e3e7ec}
            figcaption{font-size:13px;color:#3d4753;max-width:900px}
            .notrun{color:#7a4b00;background:#fff7e6;border:1px solid #f0d9a8;border-radius:4px;padding:6px 10px;margin:10px 0}
            .side{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
            .finding{border-left:5px solid #999;padding:6px 12px;margin:10px 0;background:#f8f9fb}
            .finding.yes{border-color:#2e8b57} .finding.no{border-color:#c0392b} .finding.na{border-color:#a0a7b0}
            .verdict{font-weight:700} .yes .verdict{color:#2e8b57} .no .verdict{color:#c0392b} .na .verdict{color:#6b7580}
            .feature{border:1px solid #d5dbe2;border-radius:6px;padding:8px 12px;margin:10px 0;background:#fff}
            .feature h4{margin:0 0 6px;font-size:15px} .ctx{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12.5px}
            mark{background:#ffd54f;padding:0 2px;border-radius:2px;font-weight:600}
            .pair{display:grid;grid-template-columns:1fr 1fr;gap:14px} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:0 14px} code{font-size:12.5px;word-break:break-all}
            """;

    /** Escapes text for element content and attribute values; null becomes "". */
    static String esc(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    if (c < 0x20 && c != '\n' && c != '\t') b.append(' ');
                    else b.append(c);
                }
            }
        }
        return b.toString();
    }

    /** A number with 4 significant digits; integers as integers; "n/a" for NaN or infinity. */
    static String num(double x) {
        if (!Double.isFinite(x)) return "n/a";
        if (x == Math.rint(x) && Math.abs(x) < 1e7) return Long.toString((long) x);
        double ax = Math.abs(x);
        if (ax >= 1e-3 && ax < 1e7) {
            String s = new java.math.BigDecimal(x).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
            return s.equals("-0") ? "0" : s;
        }
        String s = String.format(Locale.ROOT, "%.3e", x); // 1.230e-05
        int e = s.indexOf('e');
        String mant = s.substring(0, e).replaceAll("0+$", "").replaceAll("\\.$", "");
        return mant + "e" + Integer.parseInt(s.substring(e + 1));
    }

    /** A fraction as a percentage with 4 significant digits. */
    static String pct(double fraction) {
        return Double.isFinite(fraction) ? num(fraction * 100) + "%" : "n/a";
    }

    static String section(String id, String title, String body) {
        return "<section id=\"" + esc(id) + "\">\n<h2>" + esc(title) + "</h2>\n" + body + "\n</section>\n";
    }

    static String p(String text) {
        return "<p>" + esc(text) + "</p>\n";
    }

    static String notRun(String id, String why) {
        return "<div" + (id == null ? "" : " id=\"" + esc(id) + "\"") + " class=\"notrun\">Not run: " + esc(why) + "</div>\n";
    }

    /** An embedded PNG figure with its anchor and caption; a "not run" note with the same anchor when absent. */
    static String figure(Figures.Figure f, String anchor, String whyMissing) {
        if (f == null) return notRun(anchor, whyMissing);
        return "<figure id=\"" + esc(f.anchor()) + "\"><img src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(f.png())
                + "\" alt=\"" + esc(f.title()) + "\" width=\"" + f.width() + "\" height=\"" + f.height() + "\">"
                + "<figcaption><b>" + esc(f.title()) + ".</b> " + esc(f.caption().strip()) + " <a href=\"figures/" + esc(f.file())
                + "\">PNG</a></figcaption></figure>\n";
    }

    /**
     * The example's context with the activating token in a mark element. The harvest writes the
     * token's text span in square brackets ("the dog [chased] the cat"), so the bracketed span that
     * matches the token (ignoring case and a WordPiece "##"), else the short bracketed span nearest
     * the middle, is marked; without brackets, the first occurrence of the token; otherwise nothing.
     */
    static String context(Example e) {
        String ctx = e.context() == null ? "" : e.context(), tok = e.token() == null ? "" : e.token();
        String bare = tok.startsWith("##") ? tok.substring(2) : tok;
        int[] span = bare.isEmpty() ? null : find(ctx, "[" + bare + "]");
        if (span == null) span = middleBracket(ctx);
        if (span != null) return mark(ctx, span[0], span[1], span[0] + 1, span[1] - 1);
        span = bare.isEmpty() ? null : find(ctx, bare);
        return span == null ? esc(ctx) : mark(ctx, span[0], span[1], span[0], span[1]);
    }

    /** ctx with [from, to) replaced by the marked text [innerFrom, innerTo), all escaped. */
    private static String mark(String ctx, int from, int to, int innerFrom, int innerTo) {
        return esc(ctx.substring(0, from)) + "<mark>" + esc(ctx.substring(innerFrom, innerTo)) + "</mark>" + esc(ctx.substring(to));
    }

    /** The first case-insensitive occurrence of what in s, as {from, to}, or null. */
    private static int[] find(String s, String what) {
        for (int i = 0; i + what.length() <= s.length(); i++) if (s.regionMatches(true, i, what, 0, what.length())) return new int[] {i, i + what.length()};
        return null;
    }

    /** The bracketed span of at most 40 characters without spaces or nested brackets nearest the middle of s, or null. */
    private static int[] middleBracket(String s) {
        int[] best = null;
        double mid = s.length() / 2.0, bestDist = Double.MAX_VALUE;
        for (int i = s.indexOf('['); i >= 0; i = s.indexOf('[', i + 1)) {
            int j = s.indexOf(']', i + 1);
            if (j < 0) break;
            String inner = s.substring(i + 1, j);
            if (inner.isEmpty() || inner.length() > 40 || inner.indexOf('[') >= 0 || inner.chars().anyMatch(Character::isWhitespace)) continue;
            double d = Math.abs((i + j) / 2.0 - mid);
            if (d < bestDist) { bestDist = d; best = new int[] {i, j + 1}; }
        }
        return best;
    }

    /** A table of cells: String (escaped text), Number (formatted, right-aligned), Raw (as is), null ("n/a"). */
    static final class Table {
        private final List<String> headers;
        private final List<Object[]> rows = new ArrayList<>();

        Table(String... headers) {
            this.headers = List.of(headers);
        }

        Table row(Object... cells) {
            rows.add(cells);
            return this;
        }

        boolean isEmpty() {
            return rows.isEmpty();
        }

        String html() {
            StringBuilder b = new StringBuilder("<table>\n<thead><tr>");
            for (String h : headers) b.append("<th>").append(esc(h)).append("</th>");
            b.append("</tr></thead>\n<tbody>\n");
            for (Object[] r : rows) {
                b.append("<tr>");
                for (Object c : r) {
                    if (c instanceof Raw raw) b.append("<td>").append(raw.html()).append("</td>");
                    else if (c instanceof Number n) b.append("<td class=\"n\">").append(esc(num(n.doubleValue()))).append("</td>");
                    else if (c == null) b.append("<td class=\"n\">n/a</td>");
                    else b.append("<td>").append(esc(c.toString())).append("</td>");
                }
                b.append("</tr>\n");
            }
            return b.append("</tbody>\n</table>\n").toString();
        }
    }
}
