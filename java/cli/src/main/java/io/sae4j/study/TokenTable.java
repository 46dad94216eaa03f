package io.sae4j.study;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A harvest's tokens.tsv and texts.txt: which text and characters each activation row came from. */
final class TokenTable {
    final int[] text, start, end;
    final long[] id;
    final String[] token;
    final List<String> texts;

    private TokenTable(int n, List<String> texts) {
        text = new int[n];
        start = new int[n];
        end = new int[n];
        id = new long[n];
        token = new String[n];
        this.texts = texts;
    }

    static TokenTable read(Path harvestDir) throws IOException {
        List<String> texts = Files.readAllLines(harvestDir.resolve("texts.txt"), StandardCharsets.UTF_8);
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(harvestDir.resolve("tokens.tsv"), StandardCharsets.UTF_8)) {
            r.readLine(); // header
            for (String line; (line = r.readLine()) != null; ) rows.add(line.split("\t", -1));
        }
        TokenTable t = new TokenTable(rows.size(), texts);
        for (int i = 0; i < rows.size(); i++) {
            String[] f = rows.get(i);
            if (f.length != 6) throw new IOException(harvestDir.resolve("tokens.tsv") + ": row " + (i + 2) + " has " + f.length + " fields, expected 6");
            t.text[i] = Integer.parseInt(f[0]);
            t.id[i] = Long.parseLong(f[2]);
            t.token[i] = f[3];
            t.start[i] = Integer.parseInt(f[4]);
            t.end[i] = Integer.parseInt(f[5]);
        }
        return t;
    }

    int rows() {
        return text.length;
    }

    /** The row's text with its token in [brackets], trimmed to about {@code radius} characters a side. */
    String context(int row, int radius) {
        String s = texts.get(text[row]);
        int a = Math.max(0, Math.min(start[row], s.length())), b = Math.max(a, Math.min(end[row], s.length()));
        int from = Math.max(0, a - radius), to = Math.min(s.length(), b + radius);
        return (from > 0 ? "…" : "") + s.substring(from, a) + "[" + s.substring(a, b) + "]" + s.substring(b, to)
                + (to < s.length() ? "…" : "");
    }
}
