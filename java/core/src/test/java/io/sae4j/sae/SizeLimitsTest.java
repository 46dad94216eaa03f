package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Sizes derived by multiplication that overflowed an int or a long (found by an audit of the size
 * arithmetic): each is now refused with a line naming the sizes, or avoided.
 */
class SizeLimitsTest {
    private static String refusal(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void syntheticFeaturesTimesDimension() {
        // 1048576 x 4096 wrapped to 0 (an index error later), 600000 x 4096 to a negative array size
        for (int features : new int[] {1 << 20, 600_000}) {
            String m = refusal(() -> new SyntheticData.Spec(4096, features, 5, 0.99, 0, 1, 0, 1));
            assertTrue(m.contains("features x d = " + features + " x 4096"), m);
        }
    }

    @Test
    void trainingBatchTimesInputWidth() throws Exception {
        // d_sae below d_in: the workspace check (batch x d_sae) passed while batch x d_in wrapped negative
        try (CpuBackend be = new CpuBackend(1, 0);
             SparseAutoencoder sae = SparseAutoencoder.initialize(SaeConfig.builder().setDIn(4096).setDSae(1024).build(), be)) {
            TrainConfig big = TrainConfig.builder().setSteps(1).optBatchSize(600_000).build();
            String m = refusal(() -> new Trainer(List.of(sae), big));
            assertTrue(m.contains("batch size x d_in = 600000 x 4096"), m);
        }
    }

    @Test
    void stepsTimesBatchSize() {
        String m = refusal(() -> TrainConfig.builder().setSteps(Long.MAX_VALUE / 2).optBatchSize(4).build());
        assertTrue(m.contains("overflows a token count"), m);
    }
}
