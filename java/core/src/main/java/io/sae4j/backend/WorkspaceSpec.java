package io.sae4j.backend;

/**
 * What a {@link Workspace} must hold: batches of up to {@code rows} tokens of width {@code d}
 * through SAEs of up to {@code maxLatents} latents, stored as {@code storage} says; with
 * {@code training}, also what the backward pass needs.
 */
public record WorkspaceSpec(long rows, long d, long maxLatents, LatentStorage storage, boolean training) {
    public WorkspaceSpec {
        if (rows < 1 || d < 1 || maxLatents < 1)
            throw new IllegalArgumentException("workspace rows, d and latents must be >= 1, got " + rows + ", " + d + ", "
                    + maxLatents);
        if (rows > Integer.MAX_VALUE / maxLatents)
            throw new IllegalArgumentException("a batch of " + rows + " rows x " + maxLatents
                    + " latents exceeds 2^31 values: use fewer rows per batch");
        if (storage == null) throw new IllegalArgumentException("workspace storage is null");
    }

    /** For training steps; the backend chooses sparse or dense latents per batch. */
    public static WorkspaceSpec training(long rows, long d, long maxLatents) {
        return new WorkspaceSpec(rows, d, maxLatents, LatentStorage.AUTO, true);
    }

    /** For encoding and decoding only, with the dense latents kept for reading. */
    public static WorkspaceSpec inference(long rows, long d, long maxLatents) {
        return new WorkspaceSpec(rows, d, maxLatents, LatentStorage.DENSE, false);
    }
}
