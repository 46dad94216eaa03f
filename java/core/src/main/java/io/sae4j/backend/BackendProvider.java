package io.sae4j.backend;

/**
 * Finds and creates one kind of {@link Backend}; implementations are listed in
 * {@code META-INF/services/io.sae4j.backend.BackendProvider} and found by {@link Backends} through
 * {@link java.util.ServiceLoader}, as DJL finds its engines.
 */
public interface BackendProvider {
    /** The device name users pass: "cpu", "cuda". */
    String name();

    /** {@code auto} takes the available provider of highest rank. */
    int rank();

    /**
     * Whether this backend can run here, what it would run on, or why not. Cheap after the first
     * call and never throws: a missing driver or library is an answer, not an error.
     */
    Availability probe();

    /** A new instance with the default settings (system properties and environment variables). */
    Backend create();

    /**
     * @param available whether {@link #create()} can succeed
     * @param runsOn    what it runs on when available (CPU model and threads, GPU name and memory)
     * @param reason    why it is not available (empty when it is)
     */
    record Availability(boolean available, String runsOn, String reason) {
        public static Availability yes(String runsOn) {
            return new Availability(true, runsOn, "");
        }

        public static Availability no(String reason) {
            return new Availability(false, "", reason);
        }
    }
}
