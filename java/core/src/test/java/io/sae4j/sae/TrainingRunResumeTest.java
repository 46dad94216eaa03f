package io.sae4j.sae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sae4j.io.SaeFile;
import io.sae4j.backend.cpu.CpuBackend;
import io.sae4j.data.SyntheticData;
import io.sae4j.io.SaeLensFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run killed after a checkpoint resumes to the same SAEs as a run that was never interrupted. */
class TrainingRunResumeTest {
    static final SyntheticData.Spec SPEC = new SyntheticData.Spec(24, 48, 3, 0.98, 0, 1, 0.01, 3);
    static final TrainConfig TRAIN = TrainConfig.builder().setSteps(40).optBatchSize(64).optLr(2e-3).optLogEvery(10)
            .optCheckpointEvery(20).build();

    /** Resampling at steps 30, 60 and 90, checkpoints every 50: a resume at 50 replays the one at 60 (dead since 30). */
    static final TrainConfig RESAMPLING = TrainConfig.builder().setSteps(200).optBatchSize(64).optLr(1e-2).optLogEvery(10)
            .optCheckpointEvery(50).optResampleEvery(30).build();

    static TrainingRun run(Path dir) {
        return run(dir, TRAIN);
    }

    static TrainingRun run(Path dir, TrainConfig train) {
        // the resampling run's L1 kills latents, so that there is something to resample
        double l1 = train.resampleEvery() > 0 ? 2.0 : 0.2;
        List<SaeConfig> cfgs = List.of(SaeConfig.builder().setDIn(24).setRatio(2).optL1Coefficient(l1).build(),
                SaeConfig.builder().setDIn(24).setRatio(4).optL1Coefficient(l1).optSeed(7)
                        .optTargetL0(train.resampleEvery() > 0 ? 5 : 0).build()); // and its lambda adapts: resumed too
        return new TrainingRun(dir, List.of("r2", "r4"), cfgs, train, "synthetic seed 3");
    }

    /** A checkpoint whose step does not fit the run is refused naming its state file. */
    @Test
    void corruptCheckpointStepNamesTheFile(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("corrupt");
        try (CpuBackend be = new CpuBackend(2, 0)) {
            assertThrows(RuntimeException.class, () -> run(dir).run(be, new SyntheticData(SPEC), new Trainer.Listener() {
                @Override
                public void record(List<Trainer.Record> records) {
                    if (records.get(0).step() == 30) throw new IllegalStateException("simulated crash");
                }
            }));
            Path state = Checkpoint.find(dir).resolve("state.json");
            String good = Files.readString(state);
            // 1.5 and 1e400 were read as steps 1 and 0 (Gson's getAsLong), and the run resumed from there
            for (String step : new String[] {"5000", "1.5", "1e400"}) {
                Files.writeString(state, good.replaceFirst("\"step\": 20", "\"step\": " + step));
                Exception e = assertThrows(Exception.class, () -> run(dir).run(be, new SyntheticData(SPEC), Trainer.Listener.NONE));
                assertTrue(e.getMessage().contains(state.toString()) && e.getMessage().contains(step), e.getMessage());
            }
        }
    }

    /**
     * A learning rate that blows the SAE up (finite: lr 1e6 overflows, which the non-finite check
     * catches) stops the run, naming the SAE, the step and the fix.
     */
    @Test
    void divergingRunStops(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("diverge");
        TrainConfig wild = TrainConfig.builder().setSteps(40).optBatchSize(64).optLr(3).optLogEvery(10)
                .optCheckpointEvery(20).build();
        TrainingRun run = new TrainingRun(dir, List.of("r2"),
                List.of(SaeConfig.builder().setDIn(24).setRatio(2).optL1Coefficient(0.2).build()), wild, "synthetic seed 3");
        try (CpuBackend be = new CpuBackend(2, 0)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> run.run(be, new SyntheticData(SPEC), Trainer.Listener.NONE));
            assertTrue(e.getMessage().contains("diverged by step 10") && e.getMessage().contains("lower the learning rate"),
                    e.getMessage());
        }
        assertTrue(!run.finished() && !Files.exists(dir.resolve("r2")), "no SAE written from a diverged run");
    }

    /**
     * Batches that do not vary: the FVU is undefined (NaN) in every record. The checkpoints must
     * still be written (state.json keeps NaN), the SAE's cfg.json leaves the final FVU out, and no
     * checkpoint.tmp is left (the checkpoint writer refused NaN and left one half-written).
     */
    @Test
    void constantDataTrainsWithAnUndefinedFvu(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("const");
        io.sae4j.data.ActivationSource constant = new io.sae4j.data.ActivationSource() {
            public int dIn() { return 24; }
            public void next(float[] dst, int rows) { java.util.Arrays.fill(dst, 0, rows * 24, 1.5f); }
            public void skip(long batches, int rows) {}
            public String describe() { return "constant rows"; }
            public void close() {}
        };
        try (CpuBackend be = new CpuBackend(2, 0)) {
            List<Trainer.Record> last = run(dir).run(be, constant, Trainer.Listener.NONE);
            assertTrue(Double.isNaN(last.get(0).fvu()), "FVU of data that does not vary: " + last.get(0).fvu());
        }
        assertTrue(run(dir).finished());
        assertTrue(!Files.exists(dir.resolve("checkpoint.tmp")), "no half-written checkpoint");
        String cfg = Files.readString(dir.resolve("r2").resolve(SaeLensFormat.CONFIG));
        assertTrue(!cfg.contains("NaN"), "cfg.json stays standard JSON: " + cfg);
    }

    @Test
    void resumedRunMatchesUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<String> log = resumeMatchesUninterrupted(tmp, d -> run(d, TRAIN), 30, 20);
        assertEquals(1 + 2 * 4, log.size(), "one header and a row per SAE per 10 steps, none repeated: " + log);
    }

    /** TopK SAEs resume too (their decoder constraint is part of every step), and are saved as topk. */
    @Test
    void resumedTopKRunMatchesUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<SaeConfig> cfgs = List.of(SaeConfig.builder().setDIn(24).setRatio(2).optTopK(4).build(),
                SaeConfig.builder().setDIn(24).setRatio(4).optTopK(6).optSeed(7).build());
        resumeMatchesUninterrupted(tmp, d -> new TrainingRun(d, List.of("r2", "r4"), cfgs, TRAIN, "synthetic seed 3"), 30, 20);
        SaeFile f = SaeLensFormat.read(tmp.resolve("killed").resolve("r4"));
        assertEquals(EncoderActivation.topK(6), f.activation(), "saved as TopK(6)");
        String plain = run(tmp).identity().toString(),
                topk = new TrainingRun(tmp, List.of("r2", "r4"), cfgs, TRAIN, "synthetic seed 3").identity().toString();
        assertTrue(topk.contains("\"architecture\":\"topk\",\"k\":4") && !plain.contains("\"k\""), topk + "\n" + plain);
    }

    /** With resampling, a resume replays a resampling (at step 14, dead since step 7) exactly. */
    @Test
    void resumedRunWithResamplingMatchesUninterruptedRun(@TempDir Path tmp) throws Exception {
        List<String> log = resumeMatchesUninterrupted(tmp, d -> run(d, RESAMPLING), 80, 50);
        assertEquals(1 + 2 * 20, log.size(), log.toString());
        long resampled = 0;
        for (String name : new String[] {"r2", "r4"}) {
            var cfg = com.google.gson.JsonParser.parseString(Files.readString(tmp.resolve("killed").resolve(name).resolve("cfg.json")))
                    .getAsJsonObject();
            resampled += cfg.getAsJsonObject("sae4j").getAsJsonObject("final").get("resampled").getAsLong();
        }
        assertTrue(resampled > 0, "the runs resampled latents (else this test shows nothing)");
    }

    /** Runs whole, then killed after logging crashStep and resumed from checkpointStep; returns the resumed log. */
    static List<String> resumeMatchesUninterrupted(Path tmp, java.util.function.Function<Path, TrainingRun> run, long crashStep,
                                                   long checkpointStep) throws Exception {
        Path whole = tmp.resolve("whole"), killed = tmp.resolve("killed");
        try (CpuBackend be = new CpuBackend(2, 0)) {
            run.apply(whole).run(be, new SyntheticData(SPEC), Trainer.Listener.NONE);

            RuntimeException crash = assertThrows(RuntimeException.class, () -> run.apply(killed).run(be, new SyntheticData(SPEC),
                    new Trainer.Listener() {
                        @Override
                        public void record(List<Trainer.Record> records) {
                            // dies after logging crashStep, past its last checkpoint
                            if (records.get(0).step() == crashStep) throw new IllegalStateException("simulated crash");
                        }
                    }));
            assertEquals("simulated crash", crash.getMessage());
            assertEquals(checkpointStep, Checkpoint.step(Checkpoint.find(killed)));
            assertNotNull(Checkpoint.find(killed));
            assertTrue(!Files.exists(killed.resolve("r2")), "no SAE directory before the run finished");
            assertTrue(!run.apply(killed).finished());

            run.apply(killed).run(be, new SyntheticData(SPEC), Trainer.Listener.NONE);
            assertTrue(run.apply(killed).finished());
            for (String name : new String[] {"r2", "r4"}) {
                SaeFile a = SaeLensFormat.read(whole.resolve(name)), b = SaeLensFormat.read(killed.resolve(name));
                assertArrayEquals(a.wDec(), b.wDec(), 1e-6f, name + " W_dec");
                assertArrayEquals(a.wEnc(), b.wEnc(), 1e-6f, name + " W_enc");
                assertArrayEquals(a.bEnc(), b.bEnc(), 1e-6f, name + " b_enc");
                assertArrayEquals(a.bDec(), b.bDec(), 1e-6f, name + " b_dec");
            }
            List<String> log = Files.readAllLines(killed.resolve(TrainingRun.LOG));
            assertTrue(log.get(0).startsWith("step,tokens,sae,name"), log.get(0));
            return log;
        }
    }

    /** Settings added later are left out of a run's identity while off, so runs saved before them still resume. */
    @Test
    void identityOmitsSettingsThatAreOff(@TempDir Path tmp) {
        String plain = run(tmp).identity().toString(), resampling = run(tmp, RESAMPLING).identity().toString();
        assertTrue(!plain.contains("resampleEvery") && !plain.contains("targetL0") && !plain.contains("lambdaController"), plain);
        assertTrue(resampling.contains("\"resampleEvery\":30") && resampling.contains("\"targetL0\":5")
                && resampling.contains("\"lambdaController\":" + Trainer.LAMBDA_CONTROLLER), resampling);
    }

    /** snapshotAt writes every SAE as it was at each given step, beside the final ones. */
    @Test
    void snapshotsHoldTheSaesAsTheyWereAtThatStep(@TempDir Path tmp) throws Exception {
        assertThrows(IllegalArgumentException.class, () -> run(tmp).snapshotAt(15), "not a multiple of the log interval 10");
        assertThrows(IllegalArgumentException.class, () -> run(tmp).snapshotAt(50), "past the 40 steps");
        try (CpuBackend be = new CpuBackend(2, 0)) {
            run(tmp).snapshotAt(30, 20).run(be, new SyntheticData(SPEC), Trainer.Listener.NONE);
        }
        for (String name : new String[] {"r2", "r4"}) {
            SaeFile at20 = SaeLensFormat.read(TrainingRun.snapshotDir(tmp, 20, name));
            SaeFile at30 = SaeLensFormat.read(TrainingRun.snapshotDir(tmp, 30, name)), end = SaeLensFormat.read(tmp.resolve(name));
            assertEquals(end.wDec().length, at30.wDec().length);
            assertTrue(!java.util.Arrays.equals(end.wDec(), at30.wDec()), name + ": ten more steps changed the decoder");
            assertTrue(!java.util.Arrays.equals(at20.wDec(), at30.wDec()), name + ": steps 21-30 changed the decoder");
        }
        assertFalse(Files.exists(tmp.resolve("at-step-10")), "no snapshot where none was asked for");
        // the snapshot does not change the run: the final SAEs equal those of a run without it
        Path plain = tmp.resolve("plain");
        try (CpuBackend be = new CpuBackend(2, 0)) {
            run(plain).run(be, new SyntheticData(SPEC), Trainer.Listener.NONE);
        }
        assertArrayEquals(SaeLensFormat.read(plain.resolve("r4")).wDec(), SaeLensFormat.read(tmp.resolve("r4")).wDec());
    }

    /** Killed after the final checkpoint, while writing the SAE directories: a rerun only writes them. */
    @Test
    void aRunKilledAfterItsFinalCheckpointFinishes(@TempDir Path tmp) throws Exception {
        try (CpuBackend be = new CpuBackend(2, 0)) {
            assertThrows(IllegalStateException.class, () -> run(tmp).run(be, new SyntheticData(SPEC), new Trainer.Listener() {
                @Override
                public void record(List<Trainer.Record> records) {}

                @Override
                public void checkpoint(Trainer t) {
                    if (t.step() == TRAIN.steps()) throw new IllegalStateException("killed after the final checkpoint");
                }
            }));
            assertTrue(!run(tmp).finished());
            List<Trainer.Record> last = run(tmp).run(be, new SyntheticData(SPEC), new Trainer.Listener() {
                @Override
                public void record(List<Trainer.Record> records) {
                    throw new AssertionError("nothing left to train, yet a record came: " + records);
                }
            });
            assertEquals(2, last.size());
            assertEquals(TRAIN.steps(), last.get(0).step());
            assertTrue(run(tmp).finished());
            assertEquals(4, SaeLensFormat.read(tmp.resolve("r4")).config().getAsJsonObject("sae4j").get("ratio").getAsInt());
        }
    }

    @Test
    void checkpointOfAnotherRunIsRefused(@TempDir Path tmp) throws Exception {
        try (CpuBackend be = new CpuBackend(2, 0)) {
            assertThrows(IllegalStateException.class, () -> run(tmp).run(be, new SyntheticData(SPEC), new Trainer.Listener() {
                @Override
                public void record(List<Trainer.Record> records) {}

                @Override
                public void checkpoint(Trainer t) {
                    throw new IllegalStateException("stop");
                }
            }));
            TrainingRun other = new TrainingRun(tmp, List.of("r2"),
                    List.of(SaeConfig.builder().setDIn(24).setRatio(2).optL1Coefficient(0.5).build()), TRAIN, "synthetic seed 3");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> other.run(be, new SyntheticData(SPEC), Trainer.Listener.NONE));
            assertTrue(e.getMessage().contains("checkpoint of a different run"), e.getMessage());
            // the same names and sizes as TopK: not the ReLU run that checkpointed
            TrainingRun topk = new TrainingRun(tmp, List.of("r2", "r4"), List.of(SaeConfig.builder().setDIn(24).setRatio(2).optTopK(4).build(),
                    SaeConfig.builder().setDIn(24).setRatio(4).optTopK(4).optSeed(7).build()), TRAIN, "synthetic seed 3");
            e = assertThrows(IllegalArgumentException.class, () -> topk.run(be, new SyntheticData(SPEC), Trainer.Listener.NONE));
            assertTrue(e.getMessage().contains("checkpoint of a different run"), e.getMessage());
        }
    }

    @Test
    void aCheckpointLeftBetweenRenamesIsFound(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("checkpoint.old"));
        Files.writeString(tmp.resolve("checkpoint.old/state.json"), "{}");
        assertEquals(tmp.resolve("checkpoint.old"), Checkpoint.find(tmp));
    }
}
