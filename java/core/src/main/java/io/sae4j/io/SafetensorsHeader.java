package io.sae4j.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The header of a safetensors file: reading and validating it, and encoding it byte for byte as
 * the reference implementation (huggingface/safetensors, Rust) does.
 *
 * <p>Layout: a little-endian u64 N, then N bytes of UTF-8 JSON, then the data buffer. The JSON
 * maps each tensor name to {@code {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}}
 * (offsets relative to the buffer, end exclusive, e - b = elements * dtype size, little-endian,
 * C order), plus an optional {@code "__metadata__"} of string to string. The reference rejects
 * N over 100,000,000; it writes compact JSON, {@code __metadata__} first, tensors sorted by
 * descending dtype (its enum order, a proxy for alignment) then name, packed back to back from
 * offset 0, and pads the JSON with spaces to a multiple of 8 bytes. Reading here rejects
 * overlapping tensors and ones past the buffer's end, but (unlike the reference) tolerates gaps.
 */
final class SafetensorsHeader {
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    /** Every dtype the reference knows, in its enum order, with bits per element. */
    enum Dtype {
        BOOL(8), F4(4), F6_E2M3(6), F6_E3M2(6), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8),
        F8_E8M0(8), F8_E4M3FNUZ(8), F8_E5M2FNUZ(8), I16(16), U16(16), F16(16), BF16(16),
        I32(32), U32(32), F32(32), C64(64), F64(64), I64(64), U64(64);

        final int bits;

        Dtype(int bits) {
            this.bits = bits;
        }

        /** How to convert to and from float, or null if this package does not. */
        FloatCodec codec() {
            return switch (this) {
                case F32 -> FloatCodec.F32;
                case F16 -> FloatCodec.F16;
                case BF16 -> FloatCodec.BF16;
                default -> null;
            };
        }

        static Dtype named(String name) {
            for (Dtype d : values())
                if (d.name().equals(name))
                    return d;
            return null;
        }

        static String floatNames() {
            return Arrays.stream(values()).filter(d -> d.codec() != null).map(Dtype::name)
                    .collect(Collectors.joining(", "));
        }
    }

    /** One tensor's header entry; offsets relative to the data buffer. */
    record Entry(String name, Dtype dtype, long[] shape, long begin, long end) {
        String shapeText() {
            return Arrays.toString(shape);
        }
    }

    /** Tensors in data order (by begin offset). */
    final List<Entry> entries;
    /** Empty if the file has none. */
    final Map<String, String> metadata;
    /** File position of the data buffer: 8 + N. */
    final long dataStart;

    private SafetensorsHeader(List<Entry> entries, Map<String, String> metadata, long dataStart) {
        this.entries = entries;
        this.metadata = metadata;
        this.dataStart = dataStart;
    }

    Entry entry(String name) {
        for (Entry e : entries)
            if (e.name().equals(name))
                return e;
        return null;
    }

    /** Reads and validates the header of {@code file}; see the class comment for the checks. */
    static SafetensorsHeader read(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size < 8)
            throw new FormatException(file, "file is " + size + " bytes, too short for the"
                    + " 8-byte header length of a safetensors file");
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        ChannelIo.readFully(ch, len, 0, file);
        long n = len.getLong(0);
        String nText = Long.toUnsignedString(n);
        if (n < 0 || n > MAX_HEADER_BYTES)
            throw new FormatException(file, "header length " + nText + " exceeds the "
                    + MAX_HEADER_BYTES + "-byte limit (not a safetensors file, or corrupt)");
        if (8 + n > size)
            throw new FormatException(file, "header length " + nText + " reaches past the end of"
                    + " the file (" + size + " bytes; truncated or corrupt)");
        ByteBuffer bytes = ByteBuffer.allocate((int) n);
        ChannelIo.readFully(ch, bytes, 8, file);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(bytes.flip()).toString();
        } catch (CharacterCodingException e) {
            throw new FormatException(file, "header is not valid UTF-8", e);
        }
        return parse(file, text, size - 8 - n, 8 + n);
    }

    private static SafetensorsHeader parse(Path file, String text, long bufferLen, long dataStart)
            throws FormatException {
        JsonObject root = parseJson(file, text);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonElement> kv : root.entrySet()) {
            if (kv.getKey().equals(METADATA_KEY))
                metadata = metadata(file, kv.getValue());
            else
                entries.add(entry(file, kv.getKey(), kv.getValue(), bufferLen));
        }
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int k = 1; k < entries.size(); k++) {
            Entry a = entries.get(k - 1), b = entries.get(k);
            if (b.begin() < a.end())
                throw new FormatException(file, "tensors '" + a.name() + "' and '" + b.name()
                        + "' overlap: data_offsets [" + a.begin() + ", " + a.end() + "] and ["
                        + b.begin() + ", " + b.end() + "]");
        }
        return new SafetensorsHeader(Collections.unmodifiableList(entries),
                Collections.unmodifiableMap(metadata), dataStart);
    }

    private static JsonObject parseJson(Path file, String text) throws FormatException {
        JsonElement root;
        try {
            JsonReader reader = new JsonReader(new StringReader(text));
            reader.setStrictness(Strictness.STRICT);
            root = value(file, reader, 0);
            if (reader.peek() != JsonToken.END_DOCUMENT)
                throw new JsonParseException("text after the JSON value");
        } catch (FormatException e) {
            throw e;
        } catch (IOException | JsonParseException | IllegalStateException | NumberFormatException e) {
            throw new FormatException(file, "header is not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject())
            throw new FormatException(file, "header is not a JSON object");
        return root.getAsJsonObject();
    }

    /** Deepest nesting a header may have (a tensor entry needs 3 levels). */
    static final int MAX_DEPTH = 16;

    /**
     * One JSON value. Unlike Gson's tree adapter (the last of duplicated keys wins silently), a key
     * named twice in one object is refused: two tensors of one name are ambiguous.
     */
    private static JsonElement value(Path file, JsonReader r, int depth) throws IOException {
        if (depth > MAX_DEPTH)
            throw new FormatException(file, "header nests deeper than " + MAX_DEPTH + " levels");
        switch (r.peek()) {
            case BEGIN_OBJECT -> {
                JsonObject o = new JsonObject();
                r.beginObject();
                while (r.hasNext()) {
                    String key = r.nextName();
                    if (o.has(key))
                        throw new FormatException(file, "header names '" + key + "' twice"
                                + (depth == 0 ? " (two tensors of one name)" : ""));
                    o.add(key, value(file, r, depth + 1));
                }
                r.endObject();
                return o;
            }
            case BEGIN_ARRAY -> {
                JsonArray a = new JsonArray();
                r.beginArray();
                while (r.hasNext()) a.add(value(file, r, depth + 1));
                r.endArray();
                return a;
            }
            case STRING -> {
                return new JsonPrimitive(r.nextString());
            }
            case NUMBER -> {
                return new JsonPrimitive(new Literal(r.nextString()));
            }
            case BOOLEAN -> {
                return new JsonPrimitive(r.nextBoolean());
            }
            case NULL -> {
                r.nextNull();
                return JsonNull.INSTANCE;
            }
            default -> throw new JsonParseException("unexpected " + r.peek());
        }
    }

    /** A JSON number kept as its text: nothing parses it unless asked (hostile digits stay cheap). */
    private static final class Literal extends Number {
        private final String text;

        Literal(String text) {
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }

        @Override
        public int intValue() {
            return (int) doubleValue();
        }

        @Override
        public long longValue() {
            return (long) doubleValue();
        }

        @Override
        public float floatValue() {
            return (float) doubleValue();
        }

        @Override
        public double doubleValue() {
            return Double.parseDouble(text);
        }
    }

    private static Map<String, String> metadata(Path file, JsonElement value)
            throws FormatException {
        String problem = "'" + METADATA_KEY + "' must map strings to strings";
        if (!value.isJsonObject())
            throw new FormatException(file, problem + ", found " + value);
        Map<String, String> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> kv : value.getAsJsonObject().entrySet()) {
            JsonElement v = kv.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString())
                throw new FormatException(file, problem + "; key '" + kv.getKey() + "' has " + v);
            map.put(kv.getKey(), v.getAsString());
        }
        return map;
    }

    private static Entry entry(Path file, String name, JsonElement value, long bufferLen)
            throws FormatException {
        String where = "tensor '" + name + "'";
        if (!value.isJsonObject())
            throw new FormatException(file, where + ": expected an object with dtype, shape and"
                    + " data_offsets, found " + value);
        JsonObject o = value.getAsJsonObject();
        JsonElement dtypeJson = field(file, where, o, "dtype");
        Dtype dtype = dtypeJson.isJsonPrimitive() && dtypeJson.getAsJsonPrimitive().isString()
                ? Dtype.named(dtypeJson.getAsString()) : null;
        if (dtype == null)
            throw new FormatException(file, where + " has unknown dtype " + dtypeJson);
        long[] shape = longs(file, where + " shape", field(file, where, o, "shape"), -1);
        long[] offsets = longs(file, where + " data_offsets", field(file, where, o,
                "data_offsets"), 2);
        Entry e = new Entry(name, dtype, shape, offsets[0], offsets[1]);
        String range = "data_offsets [" + e.begin() + ", " + e.end() + "]";
        if (e.end() < e.begin())
            throw new FormatException(file, where + ": " + range + " end before they begin");
        BigInteger bits = BigInteger.valueOf(dtype.bits);
        for (long d : shape)
            bits = bits.multiply(BigInteger.valueOf(d));
        BigInteger span = BigInteger.valueOf(e.end() - e.begin());
        if (!bits.equals(span.shiftLeft(3)))
            throw new FormatException(file, where + ": " + range + " span " + span + " bytes,"
                    + " but shape " + e.shapeText() + " of " + dtype + " needs "
                    + describeBytes(bits));
        if (e.end() > bufferLen)
            throw new FormatException(file, where + ": " + range + " reach past the end of the "
                    + bufferLen + "-byte data buffer (file truncated?)");
        return e;
    }

    private static String describeBytes(BigInteger bits) {
        BigInteger[] qr = bits.divideAndRemainder(BigInteger.valueOf(8));
        return qr[1].signum() == 0 ? qr[0] + " bytes" : bits + " bits (not a whole byte count)";
    }

    private static JsonElement field(Path file, String where, JsonObject o, String key)
            throws FormatException {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull())
            throw new FormatException(file, where + " lacks the field '" + key + "'");
        return v;
    }

    /** A JSON array of non-negative integers (of {@code length} elements unless it is -1). */
    private static long[] longs(Path file, String what, JsonElement v, int length)
            throws FormatException {
        String want = "an array of " + (length < 0 ? "" : length + " ") + "non-negative integers";
        if (!v.isJsonArray() || (length >= 0 && v.getAsJsonArray().size() != length))
            throw new FormatException(file, what + " must be " + want + ", found " + v);
        long[] out = new long[v.getAsJsonArray().size()];
        for (int k = 0; k < out.length; k++) {
            JsonElement x = v.getAsJsonArray().get(k);
            // Digits only (as serde's usize wants); parsing no exponent keeps hostile input cheap.
            boolean ok = x.isJsonPrimitive() && x.getAsJsonPrimitive().isNumber()
                    && x.getAsString().matches("[0-9]{1,19}");
            try {
                out[k] = ok ? Long.parseLong(x.getAsString()) : -1;
            } catch (NumberFormatException e) {
                out[k] = -1; // 19 digits past Long.MAX_VALUE
            }
            if (out[k] < 0)
                throw new FormatException(file, what + " must be " + want + ", found " + v);
        }
        return out;
    }

    /**
     * The header bytes the reference would write (without the 8-byte length): entries must
     * already be in file order; metadata is omitted when null.
     */
    static byte[] encode(List<Entry> entries, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder("{");
        if (metadata != null) {
            sb.append(quote(METADATA_KEY)).append(":{");
            String sep = "";
            for (Map.Entry<String, String> kv : metadata.entrySet()) {
                sb.append(sep).append(quote(kv.getKey())).append(':').append(quote(kv.getValue()));
                sep = ",";
            }
            sb.append('}');
        }
        for (Entry e : entries) {
            if (sb.length() > 1)
                sb.append(',');
            sb.append(quote(e.name())).append(":{\"dtype\":\"").append(e.dtype().name())
                    .append("\",\"shape\":[")
                    .append(Arrays.stream(e.shape()).mapToObj(Long::toString)
                            .collect(Collectors.joining(",")))
                    .append("],\"data_offsets\":[").append(e.begin()).append(',').append(e.end())
                    .append("]}");
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    /** A JSON string literal escaped as serde_json does it. */
    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20)
                        sb.append(String.format("\\u%04x", (int) c));
                    else
                        sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}
