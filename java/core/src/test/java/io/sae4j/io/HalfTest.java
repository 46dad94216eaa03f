package io.sae4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * Checks {@link Half} against textbook formulas evaluated in double: every 16-bit pattern, every
 * rounding midpoint, and random floats rounded by a brute-force nearest-value search.
 */
class HalfTest {
    private static final int HALF_INF = 0x7c00;
    private static final int BF16_INF = 0x7f80;

    /** binary16 value: (-1)^s * (exp == 0 ? mant * 2^-24 : (1024 + mant) * 2^(exp - 25)). */
    private static double halfValue(int h) {
        int exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
        double mag = exp == 0 ? Math.scalb((double) mant, -24)
                : exp == 31 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : Math.scalb(1024.0 + mant, exp - 25);
        return (h & 0x8000) != 0 ? -mag : mag;
    }

    /** bfloat16 value: (-1)^s * (exp == 0 ? mant * 2^-133 : (128 + mant) * 2^(exp - 134)). */
    private static double bf16Value(int b) {
        int exp = (b >>> 7) & 0xff, mant = b & 0x7f;
        double mag = exp == 0 ? Math.scalb((double) mant, -133)
                : exp == 255 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : Math.scalb(128.0 + mant, exp - 134);
        return (b & 0x8000) != 0 ? -mag : mag;
    }

    /**
     * The pattern nearest to {@code f}, ties to the even pattern, found by binary search over
     * the monotone non-negative patterns [0, inf]; infinity stands for the value one ulp past
     * the largest finite one ({@code overflow}), which is where IEEE rounding overflows.
     */
    private static int reference(float f, IntToDoubleFunction value, int inf, double overflow) {
        int sign = f < 0 || (f == 0 && 1 / f < 0) ? 0x8000 : 0;
        double v = Math.abs((double) f);
        IntToDoubleFunction val = p -> p == inf ? overflow : value.applyAsDouble(p);
        int lo = 0, hi = inf; // largest p with val(p) <= v
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (val.applyAsDouble(mid) <= v) lo = mid;
            else hi = mid - 1;
        }
        if (lo == inf)
            return sign | inf;
        double below = v - val.applyAsDouble(lo), above = val.applyAsDouble(lo + 1) - v;
        int p = below < above ? lo : above < below ? lo + 1 : (lo & 1) == 0 ? lo : lo + 1;
        return sign | p;
    }

    private static int halfRef(float f) {
        return reference(f, HalfTest::halfValue, HALF_INF, 65536.0);
    }

    private static int bf16Ref(float f) {
        return reference(f, HalfTest::bf16Value, BF16_INF, Math.scalb(1.0, 128));
    }

    @Test
    void everyHalfPatternWidensExactlyAndNarrowsBack() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Half.halfToFloat((short) h);
            double expected = halfValue(h);
            int back = Half.floatToHalf(f) & 0xffff;
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), Integer.toHexString(h));
                assertTrue(Float.isNaN(Half.halfToFloat((short) back)), Integer.toHexString(h));
                assertEquals(h & 0x8000, back & 0x8000, "NaN sign " + Integer.toHexString(h));
                if ((h & 0x200) != 0) // quiet NaN: payload kept exactly
                    assertEquals(h, back, Integer.toHexString(h));
            } else {
                assertEquals(expected, f, 0.0, Integer.toHexString(h));
                assertEquals(h, back, Integer.toHexString(h));
            }
        }
    }

    @Test
    void everyBfloat16PatternWidensExactlyAndNarrowsBack() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Half.bfloat16ToFloat((short) b);
            double expected = bf16Value(b);
            int back = Half.floatToBfloat16(f) & 0xffff;
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), Integer.toHexString(b));
                assertTrue(Float.isNaN(Half.bfloat16ToFloat((short) back)));
                assertEquals(b & 0x8000, back & 0x8000);
                if ((b & 0x40) != 0)
                    assertEquals(b, back, Integer.toHexString(b));
            } else {
                assertEquals(expected, f, 0.0, Integer.toHexString(b));
                assertEquals(b, back, Integer.toHexString(b));
            }
        }
    }

    /** Midpoints between neighbours (exact in float) round to the even one; a step off does not. */
    @Test
    void everyHalfMidpointRoundsToEven() {
        for (int p = 0; p < HALF_INF; p++) {
            double hi = p + 1 == HALF_INF ? 65536.0 : halfValue(p + 1);
            float mid = (float) ((halfValue(p) + hi) / 2);
            assertEquals((halfValue(p) + hi) / 2, mid, 0.0); // exact
            int even = (p & 1) == 0 ? p : p + 1;
            assertEquals(even, Half.floatToHalf(mid) & 0xffff, "mid after " + p);
            assertEquals(0x8000 | even, Half.floatToHalf(-mid) & 0xffff);
            assertEquals(p, Half.floatToHalf(Math.nextDown(mid)) & 0xffff);
            assertEquals(p + 1, Half.floatToHalf(Math.nextUp(mid)) & 0xffff);
        }
    }

    @Test
    void everyBfloat16MidpointRoundsToEven() {
        for (int p = 0; p < BF16_INF; p++) {
            double hi = p + 1 == BF16_INF ? Math.scalb(1.0, 128) : bf16Value(p + 1);
            double exact = (bf16Value(p) + hi) / 2;
            int even = (p & 1) == 0 ? p : p + 1;
            if (exact > Float.MAX_VALUE) { // the overflow midpoint is not a float
                assertEquals(BF16_INF, Half.floatToBfloat16(Float.MAX_VALUE) & 0xffff);
                continue;
            }
            float mid = (float) exact;
            assertEquals(exact, mid, 0.0);
            assertEquals(even, Half.floatToBfloat16(mid) & 0xffff, "mid after " + p);
            assertEquals(p, Half.floatToBfloat16(Math.nextDown(mid)) & 0xffff);
            assertEquals(p + 1, Half.floatToBfloat16(Math.nextUp(mid)) & 0xffff);
        }
    }

    @Test
    void randomFloatsRoundLikeTheReference() {
        Random rnd = new Random(20240601L);
        for (int i = 0; i < 1_000_000; i++) {
            float f = i % 2 == 0
                    ? Float.intBitsToFloat(rnd.nextInt()) // anything, NaNs included
                    : (rnd.nextBoolean() ? -1 : 1)
                            * Math.scalb(1 + rnd.nextFloat(), rnd.nextInt(-28, 18)); // half range
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Half.halfToFloat(Half.floatToHalf(f))));
                assertTrue(Float.isNaN(Half.bfloat16ToFloat(Half.floatToBfloat16(f))));
                continue;
            }
            assertEquals(halfRef(f), Half.floatToHalf(f) & 0xffff, () -> "half of " + f);
            assertEquals(bf16Ref(f), Half.floatToBfloat16(f) & 0xffff, () -> "bf16 of " + f);
        }
    }

    @Test
    void namedEdgeCases() {
        assertEquals(0x3c00, Half.floatToHalf(1f) & 0xffff);
        assertEquals(0x2e66, Half.floatToHalf(0.1f) & 0xffff);
        assertEquals(0x7bff, Half.floatToHalf(65504f) & 0xffff);
        assertEquals(0x7bff, Half.floatToHalf(Math.nextDown(65520f)) & 0xffff);
        assertEquals(0x7c00, Half.floatToHalf(65520f) & 0xffff);
        assertEquals(0xfc00, Half.floatToHalf(-Float.MAX_VALUE) & 0xffff);
        assertEquals(0x0400, Half.floatToHalf(0x1p-14f) & 0xffff); // smallest normal
        assertEquals(0x0001, Half.floatToHalf(0x1p-24f) & 0xffff); // smallest subnormal
        assertEquals(0x0000, Half.floatToHalf(0x1p-25f) & 0xffff); // tie, to even (zero)
        assertEquals(0x0001, Half.floatToHalf(Math.nextUp(0x1p-25f)) & 0xffff);
        assertEquals(0x8000, Half.floatToHalf(-0f) & 0xffff);
        assertEquals(0x8000, Half.floatToHalf(-Float.MIN_VALUE) & 0xffff);
        assertTrue(Float.isNaN(Half.halfToFloat(Half.floatToHalf(Float.intBitsToFloat(0x7f800001)))));
        assertEquals(0x3f80, Half.floatToBfloat16(1f) & 0xffff);
        assertEquals(0x7f80, Half.floatToBfloat16(Float.MAX_VALUE) & 0xffff);
        assertEquals(0x0001, Half.floatToBfloat16(Float.MIN_VALUE * 65536) & 0xffff);
        assertTrue(Float.isNaN(Half.bfloat16ToFloat(
                Half.floatToBfloat16(Float.intBitsToFloat(0xff800001)))));
        assertEquals(3.140625f, Half.bfloat16ToFloat(Half.floatToBfloat16((float) Math.PI)));
    }
}
