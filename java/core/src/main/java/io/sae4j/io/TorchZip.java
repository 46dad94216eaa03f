package io.sae4j.io;

import io.sae4j.io.StateDictUnpickler.StorageRef;
import io.sae4j.io.StateDictUnpickler.TensorRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A state dict saved by torch.save (PyTorch 1.6 and later: a zip of {@code <root>/data.pkl}, one
 * {@code <root>/data/<key>} record of raw little-endian elements per storage, and
 * {@code <root>/byteorder} in newer files). The pickle is read by {@link StateDictUnpickler}, which
 * accepts only what a state dict of tensors needs; tensors are gathered through their stride
 * (dictionary_learning saves transposed views). The legacy pre-1.6 format is refused.
 */
public final class TorchZip {
    private TorchZip() {}

    /** Element types of the typed storages a state dict names ({@code torch.FloatStorage}, ...). */
    public enum ElementType {
        FLOAT(4, true), DOUBLE(8, true), HALF(2, true), BFLOAT16(2, true),
        LONG(8, false), INT(4, false), SHORT(2, false), CHAR(1, false), BYTE(1, false), BOOL(1, false);

        final int size;
        final boolean floating;

        ElementType(int size, boolean floating) {
            this.size = size;
            this.floating = floating;
        }

        static ElementType named(String storage) {
            return switch (storage) {
                case "FloatStorage" -> FLOAT;
                case "DoubleStorage" -> DOUBLE;
                case "HalfStorage" -> HALF;
                case "BFloat16Storage" -> BFLOAT16;
                case "LongStorage" -> LONG;
                case "IntStorage" -> INT;
                case "ShortStorage" -> SHORT;
                case "CharStorage" -> CHAR;
                case "ByteStorage" -> BYTE;
                case "BoolStorage" -> BOOL;
                default -> null;
            };
        }
    }

    /** A tensor in C order: its type, shape, and its elements as doubles (exact for every type read). */
    public record Tensor(ElementType type, long[] shape, double[] values) {
        /** The elements as float32 (rounded to nearest for DOUBLE and for integers beyond 2^24). */
        public float[] floats() {
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
            return f;
        }

        public String describe() {
            return type.name().toLowerCase(Locale.ROOT) + java.util.Arrays.toString(shape);
        }
    }

    /**
     * The dict the file holds, with string keys; values are {@link Tensor}, String, Long, Double,
     * Boolean, null, nested maps and lists.
     */
    public static Map<String, Object> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer head = ByteBuffer.allocate(4);
            ch.read(head, 0);
            if (head.position() < 4 || head.getInt(0) != 0x504b0304)
                throw new FormatException(file, "not a zip archive: torch.save files are zips since PyTorch 1.6 (the"
                        + " legacy format is not read; load and save it again with a current PyTorch)");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            if (!entries.hasMoreElements()) throw new FormatException(file, "an empty zip archive");
            String first = entries.nextElement().getName();
            int slash = first.indexOf('/');
            if (slash < 0) throw new FormatException(file, "zip entry '" + first + "' is not under a root folder");
            String root = first.substring(0, slash + 1);
            ZipEntry order = zip.getEntry(root + "byteorder");
            if (order != null && !"little".equals(new String(bytes(zip, order, file, 16), java.nio.charset.StandardCharsets.US_ASCII).trim()))
                throw new FormatException(file, "a big-endian file (" + root + "byteorder); sae4j reads little-endian ones");
            ZipEntry pkl = zip.getEntry(root + "data.pkl");
            if (pkl == null) throw new FormatException(file, "no " + root + "data.pkl: not a torch.save archive");
            Object top = StateDictUnpickler.load(bytes(zip, pkl, file, Integer.MAX_VALUE - 8), file, root + "data.pkl");
            if (!(top instanceof Map<?, ?> dict)) throw new FormatException(file, "holds a " + kind(top) + ", not a dict");
            @SuppressWarnings("unchecked")
            Map<String, Object> out = (Map<String, Object>) new Resolver(zip, root, file).resolve(dict, "", 0);
            return out;
        } catch (ZipException e) {
            throw new FormatException(file, "a damaged zip archive: " + e.getMessage(), e);
        } catch (ArithmeticException e) {
            throw new FormatException(file, "sizes in the pickle overflow 64 bits", e);
        }
    }

    private static String kind(Object o) {
        return o == null ? "null" : o.getClass().getSimpleName();
    }

    /**
     * Turns the unpickled object into what {@link #read} returns: tensors materialised, null
     * restored. Each object is resolved once (a pickle can reference one object many times: copying
     * per reference would grow exponentially), nesting is limited, and a cycle is refused.
     */
    private static final class Resolver {
        private static final int MAX_DEPTH = 32;
        private final ZipFile zip;
        private final String root;
        private final Path file;
        private final Map<String, byte[]> storages = new HashMap<>();
        private final Map<Object, Object> done = new java.util.IdentityHashMap<>();
        private final java.util.Set<Object> open = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

        Resolver(ZipFile zip, String root, Path file) {
            this.zip = zip;
            this.root = root;
            this.file = file;
        }

        Object resolve(Object v, String path, int depth) throws IOException {
            if (v == StateDictUnpickler.Null.NULL) return null;
            if (v instanceof String || v instanceof Long || v instanceof Double || v instanceof Boolean) return v;
            if (done.containsKey(v)) return done.get(v);
            String where = path.isEmpty() ? "the dict" : path;
            if (depth > MAX_DEPTH) throw new FormatException(file, where + " is nested over " + MAX_DEPTH + " levels deep");
            if (!open.add(v)) throw new FormatException(file, where + " contains itself");
            Object out;
            if (v instanceof TensorRef t) {
                out = tensor(t, path);
            } else if (v instanceof Map<?, ?> m) {
                Map<String, Object> map = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    String k = (String) e.getKey(); // the unpickler admits string keys only
                    map.put(k, resolve(e.getValue(), path.isEmpty() ? k : path + "." + k, depth + 1));
                }
                out = map;
            } else if (v instanceof List<?> l) {
                List<Object> list = new java.util.ArrayList<>();
                for (Object o : l) list.add(resolve(o, path, depth + 1));
                out = list;
            } else {
                throw new FormatException(file, where + " holds a bare " + kind(v));
            }
            open.remove(v);
            done.put(v, out);
            return out;
        }

        private Tensor tensor(TensorRef t, String name) throws IOException {
            StorageRef s = t.storage();
            byte[] data = storages.get(s.key());
            if (data == null) {
                ZipEntry e = zip.getEntry(root + "data/" + s.key());
                if (e == null) throw new FormatException(file, "tensor '" + name + "': no record " + root + "data/" + s.key());
                data = bytes(zip, e, file, Integer.MAX_VALUE - 8);
                storages.put(s.key(), data);
            }
            if (s.numel() < 0 || data.length != Math.multiplyExact(s.numel(), (long) s.type().size))
                throw new FormatException(file, "tensor '" + name + "': storage " + s.key() + " has " + data.length + " bytes, "
                        + s.numel() + " " + s.type() + " elements need " + s.numel() * s.type().size);
            long n = 1, last = t.offset();
            for (int j = 0; j < t.size().length; j++) {
                if (t.size()[j] < 0 || t.stride()[j] < 0)
                    throw new FormatException(file, "tensor '" + name + "': negative size or stride");
                n = Math.multiplyExact(n, t.size()[j]);
                if (t.size()[j] > 0) last = Math.addExact(last, Math.multiplyExact(t.size()[j] - 1, t.stride()[j]));
            }
            if (n > s.numel())
                throw new FormatException(file, "tensor '" + name + "' has " + n + " elements, more than its storage's " + s.numel()
                        + " (a broadcast view; a state dict holds none)");
            if (t.offset() < 0 || (n > 0 && last >= s.numel()))
                throw new FormatException(file, "tensor '" + name + "': size " + java.util.Arrays.toString(t.size()) + ", stride "
                        + java.util.Arrays.toString(t.stride()) + " and offset " + t.offset() + " reach past its storage of "
                        + s.numel() + " elements");
            ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            double[] values = new double[(int) n]; // n <= numel <= data.length
            long[] index = new long[t.size().length];
            for (int i = 0; i < values.length; i++) {
                long at = t.offset();
                for (int j = 0; j < index.length; j++) at += index[j] * t.stride()[j];
                values[i] = element(b, s.type(), (int) at); // at <= last < numel <= data.length
                for (int j = index.length - 1; j >= 0; j--) { // next index in C order
                    if (++index[j] < t.size()[j]) break;
                    index[j] = 0;
                }
            }
            return new Tensor(s.type(), t.size().clone(), values);
        }
    }

    private static double element(ByteBuffer b, ElementType type, int i) {
        return switch (type) {
            case FLOAT -> b.getFloat(i * 4);
            case DOUBLE -> b.getDouble(i * 8);
            case HALF -> Half.halfToFloat(b.getShort(i * 2));
            case BFLOAT16 -> Half.bfloat16ToFloat(b.getShort(i * 2));
            case LONG -> b.getLong(i * 8);
            case INT -> b.getInt(i * 4);
            case SHORT -> b.getShort(i * 2);
            case CHAR -> b.get(i);
            case BYTE -> b.get(i) & 0xff;
            case BOOL -> b.get(i) != 0 ? 1 : 0;
        };
    }

    /** An entry's bytes: STORED entries only (torch.save compresses nothing), exactly their stated size. */
    private static byte[] bytes(ZipFile zip, ZipEntry e, Path file, int limit) throws IOException {
        if (e.getMethod() != ZipEntry.STORED)
            throw new FormatException(file, e.getName() + " is compressed; torch.save stores every record uncompressed");
        if (e.getSize() < 0 || e.getSize() > limit)
            throw new FormatException(file, e.getName() + " is " + e.getSize() + " bytes, outside 0.." + limit);
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) e.getSize());
            if (b.length != e.getSize()) throw new FormatException(file, e.getName() + " is cut short");
            return b;
        }
    }
}
