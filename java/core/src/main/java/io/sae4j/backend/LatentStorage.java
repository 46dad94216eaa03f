package io.sae4j.backend;

/** How a {@link Workspace} holds the latents after the encoder. */
public enum LatentStorage {
    /** The backend chooses per batch: sparse when few latents fire (a trained SAE), else dense. */
    AUTO,
    /** Always dense (and no sparse storage): evaluation, where f (rows, m) is read afterwards. */
    DENSE,
    /** Always sparse, with storage for every latent (tests of the sparse paths). */
    SPARSE;

    /** The native libraries' SAE4J_LATENTS_* value. */
    public int code() {
        return ordinal();
    }
}
