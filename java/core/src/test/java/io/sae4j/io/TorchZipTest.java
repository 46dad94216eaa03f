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
}
