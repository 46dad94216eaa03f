package io.sae4j.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * torch.save archives written byte by byte from the published layout (a zip of STORED records:
 * {@code root/data.pkl}, {@code root/data/<key>}, {@code root/version}), with the protocol-2
 * pickle a state dict produces: an OrderedDict built by REDUCE, MARK ... SETITEMS, each tensor
 * {@code _rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict())}.
 */
final class TorchFixture {
    /** A tensor entry: its storage (type name, little-endian bytes, element count) and its view. */
    record TensorEntry(String storageType, byte[] storage, long numel, long offset, long[] size, long[] stride) {
        static TensorEntry floats(float[] v, long... size) {
            ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) b.putFloat(f);
            return new TensorEntry("FloatStorage", b.array(), v.length, 0, size, contiguous(size));
        }

        /** The (rows, cols) matrix stored column-major: what nn.Parameter(w.T.clone()) saves. */
        static TensorEntry transposedFloats(float[] rowMajor, int rows, int cols) {
            float[] colMajor = new float[rowMajor.length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) colMajor[c * rows + r] = rowMajor[r * cols + c];
            TensorEntry t = floats(colMajor, rows, cols);
            return new TensorEntry(t.storageType, t.storage, t.numel, 0, new long[] {rows, cols}, new long[] {1, rows});
        }

        static TensorEntry int32(int v) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v);
            return new TensorEntry("IntStorage", b.array(), 1, 0, new long[0], new long[0]);
        }

        static TensorEntry scalar(float v) {
            return floats(new float[] {v});
        }

        static long[] contiguous(long[] size) {
            long[] s = new long[size.length];
            long step = 1;
            for (int j = size.length - 1; j >= 0; j--) {
                s[j] = step;
                step *= size[j];
            }
            return s;
        }
    }

    /** Protocol-2 pickle writer: the opcodes torch.save's pickler emits for a state dict. */
    static final class Pickle {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private int memo;

        Pickle op(int b) {
            out.write(b);
            return this;
        }

        Pickle put() { // BINPUT
            return op(0x71).op(memo++);
        }

        Pickle global(String module, String name) {
            op(0x63);
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return put();
        }

        Pickle string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op(0x58);
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return put();
        }

        Pickle integer(long v) {
            if (v >= 0 && v < 256) return op(0x4b).op((int) v);
            op(0x4a);
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
            return this;
        }

        Pickle tuple(long... v) {
            op(0x28);
            for (long x : v) integer(x);
            return op(0x74).put();
        }

        Pickle orderedDict() {
            return global("collections", "OrderedDict").op(0x29).op(0x52).put();
        }

        Pickle tensor(TensorEntry t, String key) {
            global("torch._utils", "_rebuild_tensor_v2");
            op(0x28); // args
            op(0x28).string("storage").global("torch", t.storageType).string(key).string("cpu").integer(t.numel).op(0x74)
                    .put().op(0x51); // BINPERSID
            integer(t.offset).tuple(t.size).tuple(t.stride).op(0x89); // NEWFALSE
            orderedDict();
            return op(0x74).put().op(0x52).put();
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /**
     * The pickle of an OrderedDict of tensors (and Module-style _metadata when asked); values may
     * also be strings, integers and dicts of those (OpenAI's "activation" entries).
     */
    static byte[] stateDict(Map<String, ?> entries, boolean moduleMetadata) {
        Pickle p = new Pickle();
        p.op(0x80).op(2).orderedDict().op(0x28);
        int key = 0;
        for (Map.Entry<String, ?> e : entries.entrySet()) {
            p.string(e.getKey());
            if (e.getValue() instanceof TensorEntry t) p.tensor(t, "" + key++);
            else value(p, e.getValue());
        }
        p.op(0x75); // SETITEMS
        if (moduleMetadata) p.op(0x7d).put().string("_metadata").orderedDict().op(0x73).op(0x62); // {..} SETITEM BUILD
        return p.op(0x2e).bytes();
    }

    private static void value(Pickle p, Object v) {
        if (v instanceof String s) p.string(s);
        else if (v instanceof Long l) p.integer(l);
        else if (v instanceof Map<?, ?> m) {
            p.op(0x7d).put().op(0x28);
            for (Map.Entry<?, ?> e : m.entrySet()) {
                p.string((String) e.getKey());
                value(p, e.getValue());
            }
            p.op(0x75);
        } else throw new IllegalArgumentException("fixture value " + v);
    }

    /** A torch.save archive of the state dict (storages numbered in entry order). */
    static Path write(Path file, Map<String, ?> entries, boolean moduleMetadata) throws IOException {
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("archive/data.pkl", stateDict(entries, moduleMetadata));
        int key = 0;
        for (Object v : entries.values()) if (v instanceof TensorEntry t) records.put("archive/data/" + key++, t.storage);
        records.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return zip(file, records);
    }

    static Path zip(Path file, Map<String, byte[]> records) throws IOException {
        try (OutputStream o = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(o)) {
            for (Map.Entry<String, byte[]> r : records.entrySet()) {
                ZipEntry e = new ZipEntry(r.getKey());
                e.setMethod(ZipEntry.STORED);
                e.setSize(r.getValue().length);
                e.setCompressedSize(r.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(r.getValue());
                e.setCrc(crc.getValue());
                z.putNextEntry(e);
                z.write(r.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    private TorchFixture() {}
}
