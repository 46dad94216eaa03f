package io.sae4j.io;

import io.sae4j.io.SafetensorsHeader.Dtype;
import io.sae4j.io.SafetensorsHeader.Entry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads and writes safetensors files (format: {@link SafetensorsHeader}) as float arrays.
 * Reading converts F32, F16 and BF16 tensors to float32; writing stores F32, F16 or BF16,
 * narrowing with round-to-nearest-even, in the reference implementation's exact layout, via a
 * {@code name.tmp} file renamed into place. Every format problem is a {@link FormatException}
 * naming the file.
 */
public final class Safetensors {
    private Safetensors() {}

    /**
     * A tensor: its dtype in the file ("F32", "F16" or "BF16"), its shape, and its elements as
     * float32 in C order. {@code data.length} equals the product of the shape (1 for a scalar).
     * Arrays are held, not copied.
     */
    public record Tensor(String dtype, long[] shape, float[] data) {
        public Tensor {
            if (Dtype.named(dtype) == null || Dtype.named(dtype).codec() == null)
                throw new IllegalArgumentException("dtype " + dtype + " is not one of "
                        + Dtype.floatNames());
            long n = 1;
            for (long d : shape) {
                if (d < 0)
                    throw new IllegalArgumentException("negative dimension in shape "
                            + Arrays.toString(shape));
                n = Math.multiplyExact(n, d);
            }
            if (n != data.length)
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has "
                        + n + " elements, data has " + data.length);
        }

        /** A float32 tensor. */
        public static Tensor of(float[] data, long... shape) {
            return new Tensor("F32", shape, data);
        }
    }

    /** A file's tensors (in data order) and its {@code __metadata__} (empty if none). */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** Reads every tensor. */
    public static Contents read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SafetensorsHeader h = SafetensorsHeader.read(ch, file);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : h.entries)
                tensors.put(e.name(), readData(ch, file, h, e));
            return new Contents(Collections.unmodifiableMap(tensors), h.metadata);
        }
    }

    /** Reads one tensor; the error for a missing name lists the names there are. */
    public static Tensor readTensor(Path file, String name) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SafetensorsHeader h = SafetensorsHeader.read(ch, file);
            Entry e = h.entry(name);
            if (e == null)
                throw new FormatException(file, "no tensor named '" + name + "'; the file has "
                        + h.entries.stream().map(x -> "'" + x.name() + "'").sorted()
                                .collect(Collectors.joining(", ", "[", "]")));
            return readData(ch, file, h, e);
        }
    }

    /** Reads only the header's {@code __metadata__} (empty if none). */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return SafetensorsHeader.read(ch, file).metadata;
        }
    }

    /** Writes float32 tensors without metadata. */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, null, "F32");
    }

    /**
     * Writes {@code tensors}, all stored as {@code dtype} ("F32", "F16" or "BF16"; null keeps
     * each tensor's own), with {@code metadata} as {@code __metadata__} (omitted if null). File
     * order is the reference's: descending dtype (F32, BF16, F16), then name.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata,
            String dtype) throws IOException {
        if (dtype != null && (Dtype.named(dtype) == null || Dtype.named(dtype).codec() == null))
            throw new IllegalArgumentException(file + ": cannot write dtype " + dtype
                    + "; supported: " + Dtype.floatNames());
        List<Map.Entry<String, Tensor>> sorted = new ArrayList<>(tensors.entrySet());
        Comparator<Map.Entry<String, Tensor>> byDtype = Comparator.comparing(
                kv -> storedAs(kv.getValue(), dtype));
        sorted.sort(byDtype.reversed().thenComparing(kv -> kv.getKey(), Safetensors::utf8Order));
        List<Entry> entries = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, Tensor> kv : sorted) {
            if (kv.getKey().equals(SafetensorsHeader.METADATA_KEY))
                throw new IllegalArgumentException(file + ": '" + kv.getKey()
                        + "' is reserved and cannot name a tensor");
            Tensor t = kv.getValue();
            Dtype d = storedAs(t, dtype);
            long end = offset + (long) t.data().length * d.codec().size;
            entries.add(new Entry(kv.getKey(), d, t.shape(), offset, end));
            offset = end;
        }
        byte[] header = SafetensorsHeader.encode(entries, metadata);
        ChannelIo.writeAtomically(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(0, header.length);
                ChannelIo.writeFully(ch, len);
                ChannelIo.writeFully(ch, ByteBuffer.wrap(header));
                for (int k = 0; k < entries.size(); k++) {
                    float[] data = sorted.get(k).getValue().data();
                    ChannelIo.writeFloats(ch, entries.get(k).dtype().codec(), data, 0, data.length);
                }
                ch.force(true);
            }
        });
    }

    private static Dtype storedAs(Tensor t, String dtype) {
        return Dtype.named(dtype != null ? dtype : t.dtype());
    }

    /** Rust's str ordering: bytewise on UTF-8, i.e. by code point. */
    private static int utf8Order(String a, String b) {
        return Arrays.compare(a.codePoints().toArray(), b.codePoints().toArray());
    }

    private static Tensor readData(FileChannel ch, Path file, SafetensorsHeader h, Entry e)
            throws IOException {
        FloatCodec codec = e.dtype().codec();
        if (codec == null)
            throw new FormatException(file, "tensor '" + e.name() + "' has dtype " + e.dtype()
                    + ", which is not read as float; readable dtypes: " + Dtype.floatNames());
        long n = (e.end() - e.begin()) / codec.size;
        if (n > Integer.MAX_VALUE - 8)
            throw new FormatException(file, "tensor '" + e.name() + "' has " + n
                    + " elements, too many for one float[]");
        float[] data = new float[(int) n];
        ChannelIo.readFloats(ch, file, h.dataStart + e.begin(), codec, data, 0, (int) n);
        return new Tensor(e.dtype().name(), e.shape().clone(), data);
    }
}
