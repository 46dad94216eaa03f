package io.sae4j.harvest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TERM while a thread is inside ONNX Runtime: without {@link NativeExit} ONNX Runtime's own
 * shutdown hook released its environment under the call and the process crashed (SIGSEGV in
 * libonnxruntime, an hs_err file), as TERM or Ctrl-C during a harvest did in 5 of 11 stops timed
 * into the model's loading. Here a child JVM keeps creating sessions of the bundled model, as a
 * harvest does first, and gets TERM: a native call is nearly always under way at that moment (the
 * test failed on its second stop with the signal handlers removed). Exit status 143 is also what
 * the JVM gives without them; the crash file is what tells.
 */
class NativeExitTest {
    @TempDir
    Path tmp;

    /** The child: sessions of MiniLM created and closed without pause until it is stopped. */
    public static void main(String[] args) throws Exception {
        byte[] onnx = TransformerModel.MINILM.onnxBytes();
        OrtEnvironment env = NativeExit.guarded(OrtEnvironment::getEnvironment);
        System.out.println("loading");
        while (true) {
            OrtSession s = NativeExit.guarded(() -> env.createSession(onnx, new OrtSession.SessionOptions()));
            NativeExit.guarded(() -> {
                s.close();
                return null;
            });
        }
    }

    @Test
    void termDuringANativeCallEndsCleanly() throws Exception {
        for (long delay : new long[] {400, 900, 1400}) {
            Path log = tmp.resolve("child-" + delay + ".log");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), NativeExitTest.class.getName())
                    .directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            int code;
            try {
                for (int wait = 0; wait < 600 && !Files.readString(log).contains("loading"); wait++) Thread.sleep(50);
                Thread.sleep(delay);
            } finally {
                p.destroy(); // SIGTERM
                if (!p.waitFor(NativeExit.WAIT_SECONDS + 30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    fail("TERM after " + delay + " ms: the child did not end; it said: " + Files.readString(log));
                }
                code = p.exitValue();
            }
            try (var files = Files.list(tmp)) {
                List<Path> crashes = files.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList();
                assertTrue(crashes.isEmpty(), "TERM after " + delay + " ms: native crash " + crashes + "; child said: " + Files.readString(log));
            }
            assertEquals(143, code, "TERM after " + delay + " ms: status (128 + TERM); child said: " + Files.readString(log));
        }
    }
}
