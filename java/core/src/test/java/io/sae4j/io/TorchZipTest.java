package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.io.TorchFixture.TensorEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** torch.save archives: one written by PyTorch itself, fixtures written here, and what is refused. */
class TorchZipTest {
    @TempDir
    Path tmp;

    /**
     * Written by PyTorch 1.13.1 (torch.save to a BytesIO) of OrderedDict(W=tensor([[1,2,3],[4,5,6]]).t(),
     * b=tensor([0.5, -1.0], dtype=bfloat16)): W is a (3, 2) view of stride (1, 3), b a BFloat16Storage.
     */
    private static final String PYTORCH_FILE = "UEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAQABIAYXJjaGl2ZS9kYXRhLnBrbEZCDgBaWlpaWlpaWlpaWlpaWoACY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEAKVJxAShYAQAAAFdxAmN0b3JjaC5fdXRpbHMKX3JlYnVpbGRfdGVuc29yX3YyCnEDKChYBwAAAHN0b3JhZ2VxBGN0b3JjaApGbG9hdFN0b3JhZ2UKcQVYAQAAADBxBlgDAAAAY3B1cQdLBnRxCFFLAEsDSwKGcQlLAUsDhnEKiWgAKVJxC3RxDFJxDVgBAAAAYnEOaAMoKGgEY3RvcmNoCkJGbG9hdDE2U3RvcmFnZQpxD1gBAAAAMXEQaAdLAnRxEVFLAEsChXESSwGFcROJaAApUnEUdHEVUnEWdS5QSwcIfv+KrfoAAAD6AAAAUEsDBAAACAgAAAAAAAAAAAAAAAAAAAAAAAAOAAoAYXJjaGl2ZS9kYXRhLzBGQgYAWlpaWlpaAACAPwAAAEAAAEBAAACAQAAAoEAAAMBAUEsHCCTlORkYAAAAGAAAAFBLAwQAAAgIAAAAAAAAAAAAAAAAAAAAAAAADgAsAGFyY2hpdmUvZGF0YS8xRkIoAFpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWloAP4C/UEsHCOdLLm4EAAAABAAAAFBLAwQAAAgIAAAAAAAAAAAAAAAAAAAAAAAADwA/AGFyY2hpdmUvdmVyc2lvbkZCOwBaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWjMKUEsHCNGeZ1UCAAAAAgAAAFBLAQIAAAAACAgAAAAAAAB+/4qt+gAAAPoAAAAQAAAAAAAAAAAAAAAAAAAAAABhcmNoaXZlL2RhdGEucGtsUEsBAgAAAAAICAAAAAAAACTlORkYAAAAGAAAAA4AAAAAAAAAAAAAAAAASgEAAGFyY2hpdmUvZGF0YS8wUEsBAgAAAAAICAAAAAAAAOdLLm4EAAAABAAAAA4AAAAAAAAAAAAAAAAAqAEAAGFyY2hpdmUvZGF0YS8xUEsBAgAAAAAICAAAAAAAANGeZ1UCAAAAAgAAAA8AAAAAAAAAAAAAAAAAFAIAAGFyY2hpdmUvdmVyc2lvblBLBgYsAAAAAAAAAB4DLQAAAAAAAAAAAAQAAAAAAAAABAAAAAAAAADzAAAAAAAAAJICAAAAAAAAUEsGBwAAAACFAwAAAAAAAAEAAABQSwUGAAAAAAQABADzAAAAkgIAAAAA";

    @Test
    void readsAFileWrittenByPyTorch() throws IOException {
        Path f = Files.write(tmp.resolve("sd.pt"), Base64.getDecoder().decode(PYTORCH_FILE));
        Map<String, Object> sd = TorchZip.read(f);
        assertEquals(java.util.List.of("W", "b"), java.util.List.copyOf(sd.keySet()), "keys in order");
        TorchZip.Tensor w = (TorchZip.Tensor) sd.get("W"), b = (TorchZip.Tensor) sd.get("b");
        assertArrayEquals(new long[] {3, 2}, w.shape());
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, w.floats(), "the transposed view gathered through its stride");
        assertEquals(TorchZip.ElementType.BFLOAT16, b.type());
        assertArrayEquals(new float[] {0.5f, -1f}, b.floats(), "bfloat16 values");
    }

    @Test
    void fixtureStateDictWithModuleMetadataAndStrides() throws IOException {
        Map<String, TensorEntry> e = new LinkedHashMap<>();
        e.put("w", TensorEntry.transposedFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        e.put("k", TensorEntry.int32(300));
        Path f = TorchFixture.write(tmp.resolve("m.pt"), e, true);
        Map<String, Object> sd = TorchZip.read(f);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, ((TorchZip.Tensor) sd.get("w")).floats(), "column-major storage");
        assertEquals(300.0, ((TorchZip.Tensor) sd.get("k")).values()[0], "int32 buffer");
    }

    private void refused(byte[] pickle, String... expected) throws IOException {
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("archive/data.pkl", pickle);
        Path f = TorchFixture.zip(tmp.resolve("bad" + pickle.length + expected[0].hashCode() + ".pt"), records);
        String m = assertThrows(FormatException.class, () -> TorchZip.read(f)).getMessage();
        for (String x : expected) assertTrue(m.contains(x), "expected '" + x + "' in: " + m);
        assertTrue(m.contains(f.toString()), m);
    }

    @Test
    void refusesWhatAStateDictDoesNotNeed() throws IOException {
        TorchFixture.Pickle evil = new TorchFixture.Pickle();
        evil.op(0x80).op(2).global("os", "system").string("echo hi").op(0x85).op(0x52).op(0x2e);
        refused(evil.bytes(), "global os.system", "refuses");
        refused(new byte[] {(byte) 0x80, 4, (byte) 0x95, 0, 0, 0, 0, 0, 0, 0, 0, 0x2e}, "protocol 4");
        TorchFixture.Pickle unknownOp = new TorchFixture.Pickle();
        unknownOp.op(0x80).op(2).op(0x69).op(0x2e); // INST
        refused(unknownOp.bytes(), "opcode 0x69");
        TorchFixture.Pickle list = new TorchFixture.Pickle();
        list.op(0x80).op(2).op(0x5d).op(0x2e);
        refused(list.bytes(), "holds a", "not a dict");
        refused(new byte[] {(byte) 0x80, 2, 0x7d, 0x28, 0x4b, 1}, "well-formed"); // truncated

        Path legacy = Files.write(tmp.resolve("legacy.pt"), new byte[] {(byte) 0x80, 2, (byte) 0x8a, 0x0a});
        assertTrue(assertThrows(FormatException.class, () -> TorchZip.read(legacy)).getMessage().contains("PyTorch 1.6"));

        Map<String, TensorEntry> e = new LinkedHashMap<>();
        TensorEntry w = TensorEntry.floats(new float[] {1, 2, 3, 4}, 2, 2);
        e.put("w", new TensorEntry(w.storageType(), w.storage(), 4, 1, new long[] {2, 2}, new long[] {2, 1}));
        Path past = TorchFixture.write(tmp.resolve("past.pt"), e, false);
        assertTrue(assertThrows(FormatException.class, () -> TorchZip.read(past)).getMessage().contains("reach past"));
        e.put("w", new TensorEntry(w.storageType(), new byte[12], 4, 0, new long[] {2, 2}, new long[] {2, 1}));
        Path shortStorage = TorchFixture.write(tmp.resolve("short.pt"), e, false);
        assertTrue(assertThrows(FormatException.class, () -> TorchZip.read(shortStorage)).getMessage().contains("12 bytes"));

        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("archive/data.pkl", TorchFixture.stateDict(Map.of("w", TensorEntry.floats(new float[] {1}, 1)), false));
        records.put("archive/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
        Path big = TorchFixture.zip(tmp.resolve("big.pt"), records);
        assertTrue(assertThrows(FormatException.class, () -> TorchZip.read(big)).getMessage().contains("big-endian"));
        records.remove("archive/byteorder");
        Path noData = TorchFixture.zip(tmp.resolve("nodata.pt"), records);
        assertTrue(assertThrows(FormatException.class, () -> TorchZip.read(noData)).getMessage().contains("archive/data/0"));
    }

    private static byte[] hex(String h) {
        return java.util.HexFormat.of().parseHex(h.replace(" ", ""));
    }

    private static byte[] cat(byte[]... parts) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    private static byte[] str(String s) {
        return cat(hex("58"), new byte[] {(byte) s.length(), 0, 0, 0}, s.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] global(String module, String name) {
        return cat(hex("63"), (module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] long1(long v) {
        byte[] b = new byte[10];
        b[0] = (byte) 0x8a;
        b[1] = 8;
        for (int i = 0; i < 8; i++) b[2 + i] = (byte) (v >>> (8 * i));
        return b;
    }

    /** {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), offset, size, stride, False, OrderedDict())}. */
    private static byte[] tensorPickle(byte[] numel, byte[] offset, byte[] size, byte[] stride) {
        return cat(hex("8002 7d"), str("w"), global("torch._utils", "_rebuild_tensor_v2"), hex("28 28"), str("storage"),
                global("torch", "FloatStorage"), str("0"), str("cpu"), numel, hex("74 51"), offset, size, stride, hex("89"),
                global("collections", "OrderedDict"), hex("29 52 74 52 73 2e"));
    }

    private void refusedWith(byte[] pickle, byte[] storage, String expected) throws IOException {
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("archive/data.pkl", pickle);
        if (storage != null) records.put("archive/data/0", storage);
        Path f = TorchFixture.zip(tmp.resolve("r" + expected.hashCode() + ".pt"), records);
        String m = assertThrows(FormatException.class, () -> TorchZip.read(f)).getMessage();
        assertTrue(m.contains(expected) && m.contains(f.toString()), "expected '" + expected + "' in: " + m);
    }

    /** Found by review: each of these escaped as an Error or a runtime exception, or hung. */
    @Test
    void hostilePicklesAreRefusedQuickly() throws IOException {
        refusedWith(cat(hex("8002 7d 7100"), str("k"), hex("6800 73 2e")), null, "contains itself");
        refusedWith(hex("8002 7d 5d 7100 6800 61 4b00 73 2e"), null, "not a string");
        java.io.ByteArrayOutputStream dag = new java.io.ByteArrayOutputStream(); // L_i = (L_i-1, L_i-1), 64 levels
        dag.writeBytes(cat(hex("8002 7d"), str("k"), hex("5d 7100")));
        for (int i = 1; i <= 64; i++) dag.writeBytes(hex(String.format("68%02x 86 71%02x", i - 1, i)));
        dag.writeBytes(hex("73 2e"));
        refusedWith(dag.toByteArray(), null, "nested over");
        refusedWith(tensorPickle(hex("4b01"), hex("4b00"), cat(hex("4a"), new byte[] {(byte) 0xf7, (byte) 0xff, (byte) 0xff, 0x7f},
                hex("85")), hex("4b00 85")), new byte[4], "broadcast view");
        refusedWith(tensorPickle(long1((1L << 62) + 1), long1((1L << 32) + 5), hex("4b01 85"), hex("4b01 85")), new byte[4],
                "overflow");
        refusedWith(tensorPickle(hex("4b01"), hex("4b00"), cat(long1(1L << 40), long1(1L << 40), hex("86")), hex("4b00 4b00 86")),
                new byte[4], "overflow");

        Path deflated = tmp.resolve("deflated.pt");
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(deflated))) {
            z.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            z.write(hex("8002 7d 2e"));
            z.closeEntry();
        }
        String m = assertThrows(FormatException.class, () -> TorchZip.read(deflated)).getMessage();
        assertTrue(m.contains("compressed"), m);
    }
}
