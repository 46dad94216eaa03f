package io.sae4j.io;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * How floats are stored in a file's data bytes: little-endian float32, float16 or bfloat16.
 * Buffers passed in must be in little-endian order; decode and encode work on the bytes from the
 * buffer's position and leave the position where it was.
 */
enum FloatCodec {
    F32(4),
    F16(2),
    BF16(2);

    /** Bytes per element. */
    final int size;

    FloatCodec(int size) {
        this.size = size;
    }

    /** Reads {@code n} elements from {@code src} into {@code dst[off, off + n)}. */
    void decode(ByteBuffer src, float[] dst, int off, int n) {
        if (this == F32) {
            src.asFloatBuffer().get(dst, off, n);
            return;
        }
        ShortBuffer s = src.asShortBuffer();
        for (int i = 0; i < n; i++) {
            short v = s.get(i);
            dst[off + i] = this == F16 ? Half.halfToFloat(v) : Half.bfloat16ToFloat(v);
        }
    }

    /** Writes {@code src[off, off + n)} into {@code dst}, rounding to nearest-even if narrower. */
    void encode(float[] src, int off, int n, ByteBuffer dst) {
        if (this == F32) {
            FloatBuffer f = dst.asFloatBuffer();
            f.put(src, off, n);
            return;
        }
        ShortBuffer s = dst.asShortBuffer();
        for (int i = 0; i < n; i++) {
            float v = src[off + i];
            s.put(i, this == F16 ? Half.floatToHalf(v) : Half.floatToBfloat16(v));
        }
    }
}
