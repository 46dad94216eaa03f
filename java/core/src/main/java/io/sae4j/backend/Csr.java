package io.sae4j.backend;

/**
 * The nonzero latents of a batch in compressed sparse rows, filled by
 * {@link Backend#reluEpilogue} only when the batch's nonzeros fit: at most {@link #capacity()} and
 * at most {@link #maxDensity()} of its B x m latents (denser batches are faster on the dense GEMM
 * paths). A valid CSR makes the decoder and the backward pass take their sparse paths, and may be
 * used only with the (B, m) it was filled for.
 */
public interface Csr extends AutoCloseable {
    long rows();

    /** Largest number of nonzeros this structure can hold. */
    long capacity();

    /** Largest fraction of a batch's latents that may be nonzero for the CSR to be filled. */
    double maxDensity();

    /** Nonzeros of the last epilogue (valid or not). */
    long nnz();

    /** True when the last epilogue's nonzeros fit and the CSR arrays describe them. */
    boolean valid();

    @Override
    void close();
}
