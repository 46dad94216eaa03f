package io.sae4j.backend;

/**
 * Backend memory for one batch through the encoder, decoder and backward pass, allocated once by
 * {@link Backend#workspace} and reused every step (several SAEs on one stream share one, since
 * they run one after the other). It owns the sparse/dense policy and the sparse form of the
 * latents. Its buffers are views: valid until the workspace is closed.
 */
public interface Workspace extends AutoCloseable {
    WorkspaceSpec spec();

    /** x (rows, d): the input, written by the caller (e.g. {@link Backend#upload}). */
    FloatBuf input();

    /** f (rows, maxLatents): after an encode of (B, m), f (B, m) row-major. */
    FloatBuf latents();

    /** xhat (rows, d) after a decode. */
    FloatBuf reconstruction();

    /** Whether the last encode left the latents sparse (the decoder and backward then run sparse). */
    boolean sparse();

    @Override
    void close();
}
