package io.sae4j.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.bytedeco.javacpp.BytePointer;
import org.junit.jupiter.api.Test;

/** Host-side helpers of the CUDA provider; these need no GPU. */
class CudaBackendProviderTest {
    @Test
    void deviceNameStopsAtTheFirstNul() {
        try (BytePointer buffer = new BytePointer(256)) {
            byte[] garbage = new byte[256];
            for (int i = 0; i < garbage.length; i++) garbage[i] = (byte) (0x41 + i % 26);
            buffer.put(garbage);
            byte[] name = "NVIDIA H200\0".getBytes(StandardCharsets.US_ASCII);
            buffer.put(name, 0, name.length);
            assertEquals("NVIDIA H200", CudaBackendProvider.cString(buffer));
        }
    }

    @Test
    void aBufferWithoutNulIsReadToItsEnd() {
        try (BytePointer buffer = new BytePointer(4)) {
            buffer.put("abcd".getBytes(StandardCharsets.US_ASCII));
            assertEquals("abcd", CudaBackendProvider.cString(buffer));
        }
    }
}
