package io.sae4j.report;

import com.google.gson.JsonObject;
import io.sae4j.report.Figures.Figure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the study's results into a report a researcher can read: outDir/report.html (one
 * self-contained file: CSS inline, figures embedded as PNG data URIs), the same figures under
 * outDir/figures/, and every number as CSV under outDir/csv/ (saes, comparisons, training,
 * frequencies, plus the ratio matrix, top features and matched pairs). results.json is the
 * caller's. Every part of the input is optional: what is missing is reported as "not run".
 */
public final class Report {
    private Report() {}

    /** Writes report.html, figures/*.png and csv/*.csv under outDir (created if needed). */
    public static void write(JsonObject results, Path outDir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        StudyResults r = StudyResults.of(results);
        Files.createDirectories(outDir);
        Map<String, String> failures = new LinkedHashMap<>();
        Map<String, Figure> figs = Figures.all(r, failures);
        Path figDir = Files.createDirectories(outDir.resolve("figures"));
        for (Figure f : figs.values()) Files.write(figDir.resolve(f.file()), f.png());
        Csv.writeAll(r, outDir.resolve("csv"));
        List<Finding> findings = Findings.evaluate(results == null ? new JsonObject() : results);
        String html = Page.render(r, figs, failures, findings);
        Path tmp = outDir.resolve("report.html.tmp");
        Files.writeString(tmp, html, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, outDir.resolve("report.html"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, outDir.resolve("report.html"), StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
