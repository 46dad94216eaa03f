package io.sae4j.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * NumPy {@code .npy} files: format facts, the header codec, and whole-file convenience reads
 * (batched reads: {@link NpyReader}; writes: {@link NpyWriter}).
 *
 * <p>Layout: magic {@code \x93NUMPY}, major and minor version bytes, the header length
 * (little-endian u16 in version 1.0, u32 in 2.0 and 3.0), then the header: a Python dict literal
 * such as {@code {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }}, latin-1 (UTF-8 in
 * 3.0), padded with spaces and ended by {@code '\n'} so that the data starts at a multiple of 64
 * bytes (16 in old files; readers must not rely on it). The data follows: the array's elements,
 * C order (row-major) unless fortran_order. numpy also adds spaces inside the header so the first
 * dimension can grow to 21 digits in place; {@link #encodeHeader} does the same, which is what
 * lets {@link NpyWriter} patch the row count without moving the data.
 *
 * <p>Supported: 1-D and 2-D C-order arrays of little-endian float32 ({@code '<f4'}) or float16
 * ({@code '<f2'}). A 1-D array of n elements reads as n rows of one column.
 */
public final class Npy {
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    static final int ARRAY_ALIGN = 64;
    static final int GROWTH_AXIS_MAX_DIGITS = 21;
    /** Headers are a few hundred bytes; this bounds what a hostile length field can make us read. */
    static final int MAX_HEADER_LEN = 1 << 20;

    private Npy() {}

    /** Element types this package reads and writes. */
    public enum Dtype {
        F32("<f4", "float32", FloatCodec.F32),
        F16("<f2", "float16", FloatCodec.F16);

        private final String descr;
        private final String numpyName;
        final FloatCodec codec;

        Dtype(String descr, String numpyName, FloatCodec codec) {
            this.descr = descr;
            this.numpyName = numpyName;
            this.codec = codec;
        }

        /** The numpy dtype string, e.g. {@code "<f4"}. */
        public String descr() {
            return descr;
        }

        /** Bytes per element. */
        public int itemSize() {
            return codec.size;
        }

        static String supported() {
            return Arrays.stream(values()).map(d -> "'" + d.descr + "' (" + d.numpyName + ")")
                    .collect(Collectors.joining(", "));
        }
    }

    /** What a header says: version, element type, shape (1 or 2 dims), where the data starts. */
    record Header(int major, int minor, Dtype dtype, long[] shape, long dataOffset) {
        long rows() {
            return shape[0];
        }

        int cols() {
            return shape.length == 1 ? 1 : (int) shape[1];
        }

        long dataBytes() {
            return shape[0] * cols() * (long) dtype.itemSize();
        }
    }

    /** Reads the whole array, C order (a 1-D array as a vector). */
    public static float[] read(Path file) throws IOException {
        try (NpyReader r = NpyReader.open(file)) {
            return r.readAll();
        }
    }

    /** Reads a vector: a 1-D array, or a 2-D one with a single row or column. */
    public static float[] readVector(Path file) throws IOException {
        try (NpyReader r = NpyReader.open(file)) {
            long[] shape = r.shape();
            if (shape.length == 2 && shape[0] != 1 && shape[1] != 1)
                throw new FormatException(file, "expected a vector, found an array of shape "
                        + shapeText(shape));
            return r.readAll();
        }
    }

    /** Python's repr of a shape tuple: {@code (3, 2)}, {@code (5,)}. */
    static String shapeText(long[] shape) {
        String inner = Arrays.stream(shape).mapToObj(Long::toString)
                .collect(Collectors.joining(", "));
        return "(" + inner + (shape.length == 1 ? ",)" : ")");
    }

    /** The header (magic through the final '\n') numpy would write for a C-order array. */
    static byte[] encodeHeader(Dtype dtype, long[] shape) {
        String dict = "{'descr': '" + dtype.descr() + "', 'fortran_order': False, 'shape': "
                + shapeText(shape) + ", }"
                + " ".repeat(GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length());
        int textLen = dict.length() + 1; // + '\n'
        int pad = ARRAY_ALIGN - (MAGIC.length + 2 + 2 + textLen) % ARRAY_ALIGN;
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + textLen + pad)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) (textLen + pad));
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        b.put(" ".repeat(pad).getBytes(StandardCharsets.ISO_8859_1)).put((byte) '\n');
        return b.array();
    }

    /** Reads and validates the header, including that the file holds all the data it promises. */
    static Header readHeader(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        ByteBuffer prefix = ByteBuffer.allocate((int) Math.min(size, 12))
                .order(ByteOrder.LITTLE_ENDIAN);
        ChannelIo.readFully(ch, prefix, 0, file);
        byte[] p = prefix.array();
        for (int k = 0; k < MAGIC.length; k++) {
            if (k >= p.length || p[k] != MAGIC[k])
                throw new FormatException(file, "not a .npy file: it does not start with the"
                        + " magic \\x93NUMPY (the file has " + size + " bytes, starting "
                        + hex(p, 8) + ")");
        }
        if (size < 8)
            throw truncatedHeader(file, size);
        int major = p[6] & 0xff, minor = p[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0)
            throw new FormatException(file, "unsupported .npy format version " + major + "."
                    + minor + " (supported: 1.0, 2.0, 3.0)");
        int prefixLen = major == 1 ? 10 : 12;
        if (size < prefixLen)
            throw truncatedHeader(file, size);
        long headerLen = major == 1 ? prefix.getShort(8) & 0xffffL : prefix.getInt(8) & 0xffffffffL;
        if (prefixLen + headerLen > size)
            throw new FormatException(file, "header length " + headerLen + " reaches past the end"
                    + " of the file (" + size + " bytes; truncated or corrupt)");
        if (headerLen > MAX_HEADER_LEN)
            throw new FormatException(file, "header length " + headerLen + " exceeds the "
                    + MAX_HEADER_LEN + "-byte limit");
        ByteBuffer text = ByteBuffer.allocate((int) headerLen);
        ChannelIo.readFully(ch, text, prefixLen, file);
        String header = new String(text.array(),
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Header h = parseDict(file, header, major, minor, prefixLen + headerLen);
        long expected = h.dataOffset() + h.dataBytes();
        if (size < expected)
            throw new FormatException(file, "file is truncated: its header promises shape "
                    + shapeText(h.shape()) + " of '" + h.dtype().descr() + "' = " + h.dataBytes()
                    + " data bytes after the " + h.dataOffset() + "-byte header, " + expected
                    + " bytes in all, but the file has " + size + " bytes");
        return h;
    }

    private static Header parseDict(Path file, String header, int major, int minor,
            long dataOffset) throws FormatException {
        Object parsed;
        try {
            parsed = PyLiteral.parse(header);
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, "header is not a Python dict literal (" + e.getMessage()
                    + "): " + abbreviate(header));
        }
        if (!(parsed instanceof Map<?, ?> dict))
            throw new FormatException(file, "header is not a dict: " + abbreviate(header));
        List<String> missing = new ArrayList<>();
        for (String key : List.of("descr", "fortran_order", "shape"))
            if (!dict.containsKey(key))
                missing.add("'" + key + "'");
        if (!missing.isEmpty())
            throw new FormatException(file, "header lacks " + String.join(", ", missing)
                    + " (needs 'descr', 'fortran_order' and 'shape'): " + abbreviate(header));
        Dtype dtype = dtype(file, dict.get("descr"));
        Object fortran = dict.get("fortran_order");
        if (!(fortran instanceof Boolean))
            throw new FormatException(file, "fortran_order must be True or False, found "
                    + fortran);
        if ((Boolean) fortran)
            throw new FormatException(file, "fortran_order is True (column-major data); only"
                    + " C-order arrays are supported");
        return new Header(major, minor, dtype, shape(file, dict.get("shape"), dtype), dataOffset);
    }

    private static Dtype dtype(Path file, Object descr) throws FormatException {
        for (Dtype d : Dtype.values())
            if (d.descr().equals(descr))
                return d;
        String found = descr instanceof String s ? "'" + s + "'" : String.valueOf(descr);
        String why = descr instanceof String s && s.startsWith(">") ? " (big-endian)" : "";
        throw new FormatException(file, "unsupported dtype " + found + why + "; supported: "
                + Dtype.supported());
    }

    private static long[] shape(Path file, Object value, Dtype dtype) throws FormatException {
        if (!(value instanceof List<?> dims) || !dims.stream().allMatch(BigInteger.class::isInstance))
            throw new FormatException(file, "shape must be a tuple of integers, found " + value);
        String text = dims.stream().map(Object::toString)
                .collect(Collectors.joining(", ", "(", dims.size() == 1 ? ",)" : ")"));
        if (dims.size() != 1 && dims.size() != 2)
            throw new FormatException(file, "shape " + text + " has " + dims.size()
                    + " dimensions; only 1-D and 2-D arrays are supported");
        long[] shape = new long[dims.size()];
        BigInteger elements = BigInteger.ONE;
        for (int k = 0; k < shape.length; k++) {
            BigInteger d = (BigInteger) dims.get(k);
            if (d.signum() < 0)
                throw new FormatException(file, "shape " + text + " has a negative dimension");
            elements = elements.multiply(d);
            if (d.bitLength() > 62 || elements.multiply(BigInteger.valueOf(dtype.itemSize()))
                    .bitLength() > 62)
                throw new FormatException(file, "shape " + text + " is impossibly large");
            shape[k] = d.longValueExact();
        }
        if (shape.length == 2 && shape[1] > Integer.MAX_VALUE)
            throw new FormatException(file, "shape " + shapeText(shape) + " has more than "
                    + Integer.MAX_VALUE + " columns");
        return shape;
    }

    private static FormatException truncatedHeader(Path file, long size) {
        return new FormatException(file, "file is truncated: only " + size
                + " bytes, too short for a .npy header");
    }

    private static String hex(byte[] b, int max) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < Math.min(b.length, max); k++)
            sb.append(k == 0 ? "" : " ").append(String.format("%02x", b[k] & 0xff));
        return sb.length() == 0 ? "none" : sb.toString();
    }

    /**
     * The header for a message: its printable ASCII up to the first character that is not (a header
     * length reaching into the data makes the rest float bytes read as text), at most 200 of them.
     */
    static String abbreviate(String s) {
        int end = 0;
        while (end < s.length() && s.charAt(end) >= 0x20 && s.charAt(end) < 0x7f) end++;
        String t = s.substring(0, end).strip();
        String rest = s.substring(end).strip().isEmpty() ? "" : " (then " + (s.length() - end) + " characters that are not text)";
        return (t.length() <= 200 ? t : t.substring(0, 200) + "...") + rest;
    }
}
