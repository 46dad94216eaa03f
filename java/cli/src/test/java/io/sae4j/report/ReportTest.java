package io.sae4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    static final List<String> SECTION_ANCHORS = List.of("findings", "saes", "mmcs-heatmap", "vs-ratio", "frequencies", "comparisons",
            "training", "features", "config");
    static final List<String> FIGURE_ANCHORS = List.of(Figures.HEATMAP, Figures.MMCS_VS_RATIO, Figures.CORR_VS_RATIO, Figures.FREQ_RATIO,
            Figures.FREQ_LAYER, Figures.SPARSITY, Figures.TRAIN_LOSS, Figures.TRAIN_L0, Figures.TRAIN_FVU, Figures.THRESHOLD_CURVE, Figures.FRONTIER);

    @Test
    void fullReportHasEverySectionFigureAndCsv(@TempDir Path dir) throws IOException {
        SyntheticResults syn = new SyntheticResults(7);
        Report.write(syn.json, dir);

        String html = Files.readString(dir.resolve("report.html"), StandardCharsets.UTF_8);
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertTrue(html.trim().endsWith("</html>"));
        for (String a : SECTION_ANCHORS) assertTrue(html.contains("<section id=\"" + a + "\">"), a);
        for (String a : FIGURE_ANCHORS) assertTrue(html.contains("<figure id=\"" + a + "\"><img src=\"data:image/png;base64,"), a);
        assertFalse(html.contains("Not run"), "every part has data");
        assertTrue(html.contains("<th>settled</th>") && html.contains("<td>yes</td>"), "each SAE's convergence check in the SAE table");
        for (String tag : List.of("section", "div", "table", "figure", "tr", "td", "th", "p", "mark", "details"))
            assertEquals(count(html, "<" + tag + "[ >]"), count(html, "</" + tag + ">"), "balanced <" + tag + ">");

        // Text from the results is escaped; the activating token is marked.
        assertTrue(html.contains("if a &lt; b &amp;&amp; c &gt; &quot;d&quot; then <mark>chased</mark> it&#39;s"));
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>ran</mark>"));
        assertTrue(html.contains("a rough ##ish word <mark>ish</mark>"));
        assertTrue(html.contains("no brackets here: <mark>pursued</mark>, quickly"));
        assertTrue(html.contains("WordNet 3.1 glosses &lt;split A/B&gt;"));
        assertFalse(html.contains("<script"), "no markup from the data gets through");
        assertTrue(html.contains("href=\"#" + Figures.HEATMAP + "\""), "findings link to their figure");

        // Embedded images decode and match the files under figures/.
        Matcher m = Pattern.compile("data:image/png;base64,([A-Za-z0-9+/=]+)\"").matcher(html);
        int embedded = 0;
        while (m.find()) {
            assertNonTrivialPng(Base64.getDecoder().decode(m.group(1)));
            embedded++;
        }
        assertEquals(FIGURE_ANCHORS.size(), embedded);
        try (Stream<Path> pngs = Files.list(dir.resolve("figures"))) {
            List<Path> files = pngs.toList();
            assertEquals(FIGURE_ANCHORS.size(), files.size());
            for (Path p : files) assertNonTrivialPng(Files.readAllBytes(p));
        }

        int n = syn.names.size();
        assertCsv(dir.resolve("csv/saes.csv"),
                "name,model,layer,site,ratio,seed,dataset,d_in,d_sae,mse,fvu,l0,dead_fraction,median_log10_freq,l0_over_d_sae", n);
        assertCsv(dir.resolve("csv/comparisons.csv"),
                "kind,a,b,mmcs_ab,mmcs_ba,hungarian_mean,shared_frac,corr_ab,corr_ba,dead_a,dead_b,mmcs_ab_live,mmcs_ba_live,pw_mcc,shared_frac_encdec", syn.comparisons);
        assertCsv(dir.resolve("csv/training.csv"), "sae,step,tokens,loss,mse,l0,fvu,dead_fraction", n * SyntheticResults.CURVE_POINTS);
        assertCsv(dir.resolve("csv/frequencies.csv"), "sae,bin,log10_freq_lo,log10_freq_hi,count", n * SyntheticResults.BINS);
        int r = SyntheticResults.RATIOS.length;
        assertCsv(dir.resolve("csv/mmcs_ratio_matrix.csv"), "ratio_a,ratio_b,mmcs_a_to_b,n_comparisons", r * (r - 1));

        // The null mse of the fifth SAE is an empty cell, and numbers keep full precision.
        List<String> saes = Files.readAllLines(dir.resolve("csv/saes.csv"));
        assertEquals("", saes.get(5).split(",", -1)[9]);
        assertTrue(saes.get(1).startsWith("minilm-L3-mlp_out-r1-s42-A,all-MiniLM-L6-v2,3,mlp_out,1,42,A,384,384,"));
        // Contexts with commas, quotes and new lines are quoted.
        String top = Files.readString(dir.resolve("csv/top_features.csv"));
        assertTrue(top.contains("\"comma, \"\"quoted\"\" [text]\nnew line\""));
    }

    @Test
    void findingsOnTheSyntheticStudyAllHold() {
        List<Finding> fs = Findings.evaluate(new SyntheticResults(11).json);
        assertEquals(7, fs.size());
        for (Finding f : fs) {
            assertEquals(Boolean.TRUE, f.holds(), f.claim() + ": " + f.evidence());
            assertNotNull(f.figureAnchor());
            assertFalse(f.evidence().isBlank());
        }
    }

    @Test
    void emptyResultsSayNotRunEverywhere(@TempDir Path dir) throws IOException {
        Report.write(new JsonObject(), dir);
        String html = Files.readString(dir.resolve("report.html"));
        for (String a : SECTION_ANCHORS) assertTrue(html.contains("<section id=\"" + a + "\">"), a);
        for (String a : FIGURE_ANCHORS) assertTrue(html.contains("id=\"" + a + "\" class=\"notrun\""), a);
        assertFalse(html.contains("data:image/png"));
        assertTrue(html.contains("Cannot be told"));
        assertCsv(dir.resolve("csv/saes.csv"), Csv.SAES, 0);
        assertCsv(dir.resolve("csv/comparisons.csv"), Csv.COMPARISONS, 0);
        assertCsv(dir.resolve("csv/training.csv"), Csv.TRAINING, 0);
        assertCsv(dir.resolve("csv/frequencies.csv"), Csv.FREQUENCIES, 0);
    }

    @Test
    void partialAndMalformedInputsDoNotCrash(@TempDir Path dir) throws IOException {
        JsonObject r = new JsonObject();
        r.addProperty("title", "<b>partial</b>");
        r.add("wall_time_s", JsonNull.INSTANCE);
        r.addProperty("config", "not an object");
        JsonArray saes = new JsonArray();
        JsonObject bare = new JsonObject();
        bare.addProperty("name", "only-a-name");
        saes.add(bare);
        JsonObject odd = new JsonObject();
        odd.addProperty("name", "odd");
        odd.addProperty("ratio", "NaN");
        odd.addProperty("l0", "12.5");
        JsonObject hist = new JsonObject();
        hist.addProperty("lo", 0.0);
        hist.addProperty("hi", 0.0);
        hist.add("counts", new JsonArray());
        odd.add("log10_freq_hist", hist);
        odd.add("training", new JsonArray());
        saes.add(odd);
        saes.add(JsonNull.INSTANCE);
        r.add("saes", saes);
        JsonArray comps = new JsonArray();
        JsonObject c = new JsonObject();
        c.addProperty("kind", "ratio");
        c.addProperty("a", "only-a-name");
        c.addProperty("b", "missing");
        comps.add(c);
        JsonObject rnd = new JsonObject();
        rnd.addProperty("kind", "random");
        rnd.addProperty("a", "odd");
        rnd.addProperty("b", "random-init(odd)");
        rnd.addProperty("mmcs_ab", 0.16);
        comps.add(rnd);
        r.add("comparisons", comps);
        r.addProperty("top_features", 3);
        Report.write(r, dir);
        String html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.contains("<title>&lt;b&gt;partial&lt;/b&gt;</title>"));
        assertTrue(html.contains("only-a-name"));
        assertTrue(html.contains("Not run"));
        assertCsv(dir.resolve("csv/saes.csv"), Csv.SAES, 2);
        assertCsv(dir.resolve("csv/comparisons.csv"), Csv.COMPARISONS, 2);
        Report.write(null, dir.resolve("null"));
        assertTrue(Files.exists(dir.resolve("null/report.html")));
    }

    @Test
    void onlyTheRatioSweepGivesItsFiguresAndTheRestSaysNotRun(@TempDir Path dir) throws IOException {
        JsonObject full = new SyntheticResults(3).json;
        JsonObject r = new JsonObject();
        r.add("saes", full.get("saes"));
        JsonArray onlyRatio = new JsonArray();
        full.getAsJsonArray("comparisons").forEach(e -> {
            if (e.getAsJsonObject().get("kind").getAsString().equals("ratio")) onlyRatio.add(e);
        });
        r.add("comparisons", onlyRatio);
        Report.write(r, dir);
        String html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.contains("<figure id=\"" + Figures.HEATMAP + "\">"));
        assertTrue(html.contains("<figure id=\"" + Figures.MMCS_VS_RATIO + "\">"));
        assertTrue(html.contains("id=\"" + Figures.FREQ_LAYER + "\" class=\"notrun\""));
        assertTrue(html.contains("No random-init baseline was measured."));
        assertTrue(html.contains("No cross-layer baseline was measured."));
    }

    @Test
    void theSmallestStudyStillDrawsEveryFigure(@TempDir Path dir) throws IOException {
        // Two SAEs, one comparison of each kind, one training point, a one-bin histogram: degenerate axes everywhere.
        JsonObject r = new JsonObject();
        JsonArray saes = new JsonArray();
        for (int ratio : new int[] {1, 2}) {
            JsonObject s = new JsonObject();
            s.addProperty("name", "s" + ratio);
            s.addProperty("ratio", ratio);
            s.addProperty("layer", ratio);
            s.addProperty("d_in", 8);
            s.addProperty("d_sae", 8 * ratio);
            s.addProperty("l0", 3.0);
            s.addProperty("fvu", 0.4);
            JsonObject h = new JsonObject();
            h.addProperty("lo", -3.0);
            h.addProperty("hi", -2.0);
            JsonArray counts = new JsonArray();
            counts.add(5);
            h.add("counts", counts);
            s.add("log10_freq_hist", h);
            JsonArray training = new JsonArray();
            JsonObject t = new JsonObject();
            t.addProperty("step", 1);
            t.addProperty("tokens", 4096);
            t.addProperty("loss", 1.0);
            t.addProperty("l0", 3.0);
            t.addProperty("fvu", 0.5);
            training.add(t);
            s.add("training", training);
            saes.add(s);
        }
        r.add("saes", saes);
        JsonArray comps = new JsonArray();
        for (String kind : new String[] {"ratio", "layer", "random", "cross_layer"}) {
            JsonObject c = new JsonObject();
            c.addProperty("kind", kind);
            c.addProperty("a", "s1");
            c.addProperty("b", kind.equals("random") ? "random-init(s1)" : "s2");
            c.addProperty("mmcs_ab", 0.5);
            c.addProperty("mmcs_ba", 0.5);
            c.addProperty("corr_ab", 0.6);
            c.addProperty("corr_ba", 0.6);
            JsonObject curve = new JsonObject(); // a single point is enough to draw
            JsonArray t = new JsonArray(), dec = new JsonArray();
            t.add(0.7);
            dec.add(0.4);
            curve.add("thresholds", t);
            curve.add("decoder", dec);
            c.add("threshold_curve", curve);
            comps.add(c);
        }
        r.add("comparisons", comps);
        Report.write(r, dir);
        String html = Files.readString(dir.resolve("report.html"));
        assertFalse(html.contains("could not be drawn"), html.replaceAll("base64,[^\"]+", ""));
        for (String a : FIGURE_ANCHORS) assertTrue(html.contains("<figure id=\"" + a + "\">"), a);
    }

    private static void assertNonTrivialPng(byte[] png) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        assertNotNull(img, "decodes as an image");
        assertEquals(Charts.WIDTH, img.getWidth());
        assertEquals(Charts.HEIGHT, img.getHeight());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3) for (int x = 0; x < img.getWidth(); x += 3) colours.add(img.getRGB(x, y));
        assertTrue(colours.size() > 20, "more than a blank image: " + colours.size() + " colours");
        long nonWhite = 0;
        for (int y = 0; y < img.getHeight(); y += 2) for (int x = 0; x < img.getWidth(); x += 2) if ((img.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF) nonWhite++;
        assertTrue(nonWhite > 2000, "something is drawn: " + nonWhite);
    }

    private static void assertCsv(Path p, String header, int rows) throws IOException {
        assertTrue(Files.exists(p), p.toString());
        String text = Files.readString(p, StandardCharsets.UTF_8);
        List<String> lines = csvRecords(text);
        assertEquals(header, lines.get(0), p.toString());
        assertEquals(rows, lines.size() - 1, p + " rows");
        int cols = header.split(",").length;
        for (String l : lines) assertEquals(cols, fields(l), p + ": " + l);
    }

    /** Splits CSV text into records, keeping new lines inside quoted fields. */
    private static List<String> csvRecords(String text) {
        List<String> out = new java.util.ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean q = false;
        for (char ch : text.toCharArray()) {
            if (ch == '"') q = !q;
            if (ch == '\n' && !q) { out.add(cur.toString()); cur.setLength(0); } else cur.append(ch);
        }
        if (cur.length() > 0) out.add(cur.toString());
        return out;
    }

    private static int fields(String record) {
        int n = 1;
        boolean q = false;
        for (char ch : record.toCharArray()) {
            if (ch == '"') q = !q;
            else if (ch == ',' && !q) n++;
        }
        return n;
    }

    private static int count(String s, String regex) {
        Matcher m = Pattern.compile(regex).matcher(s);
        int n = 0;
        while (m.find()) n++;
        return n;
    }
}
