package io.sae4j.bench;

import io.sae4j.backend.FloatBuf;
import java.util.Locale;

/**
 * A few training steps and one cosine matching outside JMH, for a kernel profiler (ncu attaches
 * to one process; JMH forks) and for splitting a step's wall time: steps as benchmarked, the
 * batch upload alone, and the encoder GEMM alone, each timed over the same count.
 *
 *   ProfileSteps DIN RATIO DENSITY STEPS [COSINE_N]   e.g. 512 8 0.01 20 16384
 */
public final class ProfileSteps {
    private ProfileSteps() {}

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: ProfileSteps DIN RATIO DENSITY STEPS [COSINE_N]");
            System.exit(2);
        }
        TrainStepBenchmark step = new TrainStepBenchmark();
        step.batch = 4096;
        step.dIn = Integer.parseInt(args[0]);
        step.ratio = Integer.parseInt(args[1]);
        step.density = args[2];
        step.device = System.getProperty("sae4j.device", "cuda");
        int steps = Integer.parseInt(args[3]);
        step.setup();
        try {
            step.trainStep(); // warm-up: first launches, cuBLAS heuristics, pinned staging
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i += TrainStepBenchmark.STEPS) step.trainStep();
            report("train step", t0, steps);
            t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step.uploadBatch();
            step.sync();
            report("batch upload alone", t0, steps);
            t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step.encoderGemmBaseline();
            report("encoder GEMM alone", t0, steps);
        } finally {
            step.tearDown();
        }
        if (args.length > 4) {
            CosineMatchBenchmark cos = new CosineMatchBenchmark();
            cos.m1 = cos.m2 = Integer.parseInt(args[4]);
            cos.d = 512;
            cos.device = step.device;
            cos.setup();
            try {
                cos.cosineMax();
                cos.cosineTop1();
                cos.sgemmBaseline();
                long t0 = System.nanoTime();
                cos.cosineMax();
                report("cosineMax", t0, 1);
                t0 = System.nanoTime();
                cos.cosineTop1();
                report("cosineTopK k=1", t0, 1);
                t0 = System.nanoTime();
                cos.sgemmBaseline();
                report("sgemm of the same product", t0, 1);
            } finally {
                cos.tearDown();
            }
        }
    }

    private static void report(String what, long t0, int count) {
        System.out.printf(Locale.ROOT, "%-28s %9.3f ms each (%d)%n", what, (System.nanoTime() - t0) / 1e6 / count, count);
    }
}
