package io.sae4j.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The instruction-set choice from cpuid words: a path compiled for a whole x86-64 level is taken
 * only when every feature of that level is there (a VM may hide one, e.g. BMI2 beside AVX2).
 */
class DispatchTest {
    // cpuid bit positions (Intel SDM vol. 2A, CPUID; AMD APM vol. 3)
    static final int[] LEAF1_V2 = {0, 9, 13, 19, 20, 23}; // SSE3 SSSE3 CX16 SSE4.1 SSE4.2 POPCNT
    static final int[] LEAF1_V3 = {12, 22, 27, 28, 29};   // FMA MOVBE OSXSAVE AVX F16C
    static final int[] LEAF7_V3 = {3, 5, 8};              // BMI1 AVX2 BMI2
    static final int[] LEAF7_V4 = {16, 17, 28, 30, 31};   // AVX512F DQ CD BW VL
    static final int EXT1_LAHF = 0, EXT1_LZCNT = 5;
    static final long XCR0_YMM = 0x6, XCR0_ZMM = 0xe6;

    static int bits(int... positions) {
        int v = 0;
        for (int p : positions) v |= 1 << p;
        return v;
    }

    static int leaf1() {
        return bits(LEAF1_V2) | bits(LEAF1_V3);
    }

    static int leaf7() {
        return bits(LEAF7_V3) | bits(LEAF7_V4);
    }

    static final int EXT1 = bits(EXT1_LAHF, EXT1_LZCNT);

    @Test
    void wholeLevelsAreRecognised() {
        assertEquals(NativeCpu.ISA_AVX512, NativeCpu.isaForFeatures(leaf1(), leaf7(), EXT1, XCR0_ZMM));
        assertEquals(NativeCpu.ISA_AVX2, NativeCpu.isaForFeatures(leaf1(), bits(LEAF7_V3), EXT1, XCR0_YMM));
        assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(bits(LEAF1_V2), 0, EXT1, 0));
        assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(0, 0, 0, 0));
    }

    @Test
    void anyMissingV3FeatureMeansPortable() {
        for (int b : LEAF1_V3)
            assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(leaf1() & ~(1 << b), leaf7(), EXT1, XCR0_ZMM),
                    "leaf 1 ECX bit " + b + " missing");
        for (int b : LEAF7_V3)
            assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(leaf1(), leaf7() & ~(1 << b), EXT1, XCR0_ZMM),
                    "leaf 7 EBX bit " + b + " missing");
        assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(leaf1(), leaf7(), bits(EXT1_LAHF), XCR0_ZMM),
                "LZCNT missing");
        assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(leaf1(), leaf7(), EXT1, 0x2),
                "OS does not save YMM state");
        for (int b : LEAF1_V2)
            assertEquals(NativeCpu.ISA_PORTABLE, NativeCpu.isaForFeatures(leaf1() & ~(1 << b), leaf7(), EXT1, XCR0_ZMM),
                    "v2 feature, leaf 1 ECX bit " + b + " missing");
    }

    @Test
    void anyMissingV4FeatureMeansAvx2() {
        for (int b : LEAF7_V4)
            assertEquals(NativeCpu.ISA_AVX2, NativeCpu.isaForFeatures(leaf1(), leaf7() & ~(1 << b), EXT1, XCR0_ZMM),
                    "leaf 7 EBX bit " + b + " missing");
        assertEquals(NativeCpu.ISA_AVX2, NativeCpu.isaForFeatures(leaf1(), leaf7(), EXT1, XCR0_YMM),
                "OS does not save ZMM state");
    }

    @Test
    void thisMachinesChoiceIsSupported() {
        int best = NativeCpu.ISA_PORTABLE;
        for (int isa = NativeCpu.ISA_PORTABLE; isa <= NativeCpu.ISA_AVX512; isa++)
            if (NativeCpu.cpuSupports(isa) == 1) best = isa;
        try (CpuBackend be = new CpuBackend(1, NativeCpu.ISA_AUTO)) {
            assertEquals(best, be.isa(), "auto picks the best supported level");
        }
    }
}
