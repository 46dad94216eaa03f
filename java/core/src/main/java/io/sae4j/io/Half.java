package io.sae4j.io;

/**
 * Conversions between float32 and the two 16-bit float formats, the 16-bit values held as raw
 * bit patterns in a {@code short}.
 *
 * <ul>
 *   <li>IEEE 754 binary16 (numpy float16, safetensors F16): 1 sign, 5 exponent (bias 15) and 10
 *       mantissa bits; largest finite value 65504, subnormals k * 2^-24.
 *   <li>bfloat16 (safetensors BF16): the top 16 bits of a float32: 1 sign, 8 exponent (bias 127)
 *       and 7 mantissa bits.
 * </ul>
 *
 * <p>Narrowing rounds to nearest, ties to even; values past the largest finite one by half an
 * ulp or more become infinity; NaN stays NaN, keeping its sign and the top payload bits (so a
 * 16-bit NaN survives a round trip through float). Widening is exact.
 */
public final class Half {
    private Half() {}

    /** The float32 value of a binary16 bit pattern (exact). */
    public static float halfToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) { // zero or subnormal: mant * 2^-24, exact in float
            float magnitude = mant * 0x1p-24f;
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
        }
        if (exp == 0x1f) // infinity or NaN, payload moved to the top of the float mantissa
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13)); // rebias 15 -> 127
    }

    /** The binary16 bit pattern nearest to {@code f} (ties to even). */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) { // NaN: keep the top 10 payload bits, never let them all be 0
            int mant = (abs >>> 13) & 0x3ff;
            return (short) (sign | 0x7c00 | (mant == 0 ? 0x200 : mant));
        }
        if (abs >= 0x477ff000) // >= 65520, the midpoint between 65504 and 2^16: infinity
            return (short) (sign | 0x7c00);
        if (abs >= 0x38800000) { // normal in binary16 (>= 2^-14): rebias, round off 13 bits
            int v = abs - (112 << 23);
            v += 0xfff + ((v >>> 13) & 1);
            return (short) (sign | (v >>> 13));
        }
        if (abs < 0x33000000) // < 2^-25, below half the smallest subnormal (2^-25 itself ties to 0)
            return (short) sign;
        // Subnormal in binary16: value * 2^24 = significand >> shift, shift in [14, 24].
        int significand = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - (abs >>> 23);
        int mant = significand >>> shift;
        int rest = significand & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (mant & 1) == 1))
            mant++; // may carry into the exponent field: 0x400 is the smallest normal, correctly
        return (short) (sign | mant);
    }

    /** The float32 value of a bfloat16 bit pattern (exact). */
    public static float bfloat16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }

    /** The bfloat16 bit pattern nearest to {@code f} (ties to even). */
    public static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) { // NaN: keep the top 7 payload bits, never all 0
            int top = bits >>> 16;
            return (short) ((top & 0x7f) == 0 ? top | 0x40 : top);
        }
        // Rounding carries into the exponent as needed, up to infinity (0x7f80) past the max.
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}
