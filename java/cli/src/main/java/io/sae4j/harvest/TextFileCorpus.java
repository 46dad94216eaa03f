package io.sae4j.harvest;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A user's texts: a UTF-8 file of one document a line (blank lines skipped), or a {@code .jsonl}
 * file whose lines are JSON objects with the document in one string field. Documents keep file
 * order; line breaks inside a JSON document become spaces (BERT tokenizers treat them alike), so
 * texts.txt keeps one document a line. Identified in a manifest by the file's path and the SHA-256
 * of its content, so an edited file is not mistaken for the one a harvest began on.
 * <p>The study splits the documents into two halves ({@link #half}): "A" holds the 1st, 3rd, 5th,
 * ... document, "B" the 2nd, 4th, ...; two samples of one distribution, as WordNet's halves are.
 */
public final class TextFileCorpus implements Corpus {
    private final Path file;
    private final String field;
    private final List<String> texts;
    private final String sha256;
    /** null: every document; "A" or "B": that half. */
    private final String half;

    private TextFileCorpus(Path file, String field, List<String> texts, String sha256, String half) {
        this.file = file;
        this.field = field;
        this.texts = List.copyOf(texts);
        this.sha256 = sha256;
        this.half = half;
    }

    /** Whether the file is read as JSON lines (by its name: .jsonl). */
    public static boolean isJsonLines(Path file) {
        return file.getFileName() != null && file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jsonl");
    }

    /**
     * Reads the file; {@code field} names the JSON string field of a .jsonl file (ignored for plain
     * text). Refuses, naming file and line, what is not text of that form or holds no document.
     */
    public static TextFileCorpus read(Path file, String field) throws IOException {
        if (!Files.isRegularFile(file))
            throw new IllegalArgumentException(file + ": " + (Files.exists(file) ? "not a file" : "no such file") + " (--text)");
        boolean json = isJsonLines(file);
        List<String> texts = new ArrayList<>();
        MessageDigest sha = FileIdentity.sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha);
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                     .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)))) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("\uFEFF")) line = line.substring(1); // a byte-order mark
                if (line.isBlank()) continue;
                String doc = json ? field(file, lineNo, line, field) : line;
                if (json) doc = doc.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
                if (!doc.isBlank()) texts.add(doc);
            }
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text (--text)", e);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file (--text)", e);
        }
        if (texts.isEmpty())
            throw new IllegalArgumentException(file + ": no text in it (empty, or only blank lines" + (json ? " and blank '" + field
                    + "' fields" : "") + "); give one document a line");
        return new TextFileCorpus(file, json ? field : null, texts, FileIdentity.hex(sha.digest()), null);
    }

    /** Half "A" (the 1st, 3rd, 5th, ... document) or "B" (the 2nd, 4th, ...) of the file's documents, in file order. */
    public TextFileCorpus half(String which) {
        int side = switch (which) {
            case "A" -> 0;
            case "B" -> 1;
            default -> throw new IllegalArgumentException("half must be A or B, got '" + which + "'");
        };
        if (half != null) throw new IllegalStateException("already half " + half);
        if (texts.size() < 2)
            throw new IllegalArgumentException(file + ": holds one document; the study splits the documents into two halves, so give at"
                    + " least two (one a line)");
        List<String> out = new ArrayList<>();
        for (int i = side; i < texts.size(); i += 2) out.add(texts.get(i));
        return new TextFileCorpus(file, field, out, sha256, which);
    }

    private static String field(Path file, int lineNo, String line, String field) {
        JsonElement e;
        try {
            e = JsonParser.parseString(line);
        } catch (JsonParseException ex) {
            throw new IllegalArgumentException(file + ":" + lineNo + ": not a JSON line (a .jsonl file holds one JSON object a line)", ex);
        }
        if (!e.isJsonObject())
            throw new IllegalArgumentException(file + ":" + lineNo + ": not a JSON object (a .jsonl file holds one object a line, "
                    + "the text in its '" + field + "' field)");
        JsonElement v = e.getAsJsonObject().get(field);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString())
            throw new IllegalArgumentException(file + ":" + lineNo + ": " + (v == null ? "no field '" + field + "'" : "field '" + field
                    + "' is not a string") + " (--text-field names the field holding the text; the object has "
                    + e.getAsJsonObject().keySet() + ")");
        return v.getAsString();
    }

    public Path file() {
        return file;
    }

    /** The file's name, or the half ("A", "B"): the manifest's "dataset". */
    @Override
    public String key() {
        return half != null ? half : String.valueOf(file.getFileName());
    }

    @Override
    public String what() {
        return file + (half == null ? "" : half.equals("A") ? " (half A: its 1st, 3rd, 5th, ... documents)"
                : " (half B: its 2nd, 4th, 6th, ... documents)");
    }

    @Override
    public String description() {
        String whole = "text file, one document a line" + (field != null ? " (JSON lines, field '" + field + "')" : "") + ", in file order";
        return half == null ? whole
                : whole + ", half " + half + " (every other document from the " + (half.equals("A") ? "first" : "second") + ")";
    }

    @Override
    public List<String> texts() {
        return texts;
    }

    @Override
    public long surelyAvailable() {
        return 0;
    }

    @Override
    public void addIdentity(JsonObject identity) {
        identity.add("text", FileIdentity.json(file, sha256));
        if (field != null) identity.getAsJsonObject("text").addProperty("field", field);
    }
}
