package io.sae4j.harvest;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import sun.misc.Signal;

/**
 * Keeps the process from exiting under a call into ONNX Runtime or the tokenizers library. ONNX
 * Runtime's Java API releases its environment in a shutdown hook of its own, which runs while the
 * harvest thread may still be inside the library: TERM or Ctrl-C during a harvest then crashed the
 * process (SIGSEGV in libonnxruntime and an hs_err file; 5 of 11 stops timed into the model's
 * loading). Every such call runs in {@link #guarded}, and from the first one on, TERM and INT wait
 * for the call under way and let none start before they exit, with the status the JVM gives them
 * (128 + the signal's number). A call that has not returned within {@link #WAIT_SECONDS} is cut
 * short by a halt, which skips the shutdown hooks (ONNX Runtime's among them) rather than race them.
 */
final class NativeExit {
    private NativeExit() {}

    /**
     * Held by a native call, and by a signal from when it arrives until the process ends. Fair: a
     * harvest releases and retakes it call after call, and a waiting signal must come first (it
     * waited 15 s on average without).
     */
    private static final ReentrantLock LOCK = new ReentrantLock(true);
    private static volatile boolean installed;
    static final long WAIT_SECONDS = 20;

    interface Call<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs c unless the process is exiting (then it waits for the end). Never call System.exit
     * inside, nor this from a shutdown hook: the signal's exit holds the lock while hooks run.
     */
    static <T, E extends Exception> T guarded(Call<T, E> c) throws E {
        if (!installed) install();
        LOCK.lock();
        try {
            return c.run();
        } finally {
            LOCK.unlock();
        }
    }

    private static synchronized void install() {
        if (installed) return;
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), NativeExit::exit);
            } catch (IllegalArgumentException taken) {
                // the JVM keeps this signal (-Xrs, or the OS reserves it): its default exit stays
            }
        }
        installed = true;
    }

    /** In a thread of its own (one per signal): the call under way ends first; shutdown hooks run after. */
    private static void exit(Signal s) {
        int status = 128 + s.getNumber();
        try {
            if (!LOCK.tryLock(WAIT_SECONDS, TimeUnit.SECONDS)) Runtime.getRuntime().halt(status);
        } catch (InterruptedException e) {
            Runtime.getRuntime().halt(status);
        }
        System.exit(status);
    }
}
