package io.sae4j.backend;

/**
 * The nonzero latents of a batch in compressed sparse rows, filled by
 * {@link Backend#reluEpilogue}: only when the batch's nonzeros fit {@link #capacity()}, which is
 * what makes the decoder and the backward pass take their sparse paths.
 */
public interface Csr extends AutoCloseable {
    long rows();

    /** Largest number of nonzeros this structure can hold. */
    long capacity();

    /** Nonzeros of the last epilogue (valid or not). */
    long nnz();

    /** True when the last epilogue's nonzeros fit and the CSR arrays describe them. */
    boolean valid();

    @Override
    void close();
}
