package io.sae4j.backend;

/**
 * The (B, m) of a workspace's last encode, so that decode and backward with other sizes are
 * refused by name rather than reading latents of another shape. For backends.
 */
public final class EncodedShape {
    private long rows = -1, latents = -1;
    private boolean decoded;

    /** Before an encode: nothing is encoded until {@link #set} succeeds. */
    public void clear() {
        rows = latents = -1;
        decoded = false;
    }

    /** After a decode of the encoded batch: backward may follow (it uses the decode's error terms). */
    public void setDecoded() {
        decoded = true;
    }

    public void requireDecoded(long rows, long latents, String what) {
        require(rows, latents, what);
        if (!decoded) throw new IllegalArgumentException(what + ": the encoded batch was not decoded (decode comes first)");
    }

    public void set(long rows, long latents) {
        this.rows = rows;
        this.latents = latents;
    }

    public void require(long rows, long latents, String what) {
        if (this.rows < 0) throw new IllegalArgumentException(what + ": the workspace holds no encoded batch");
        if (this.rows != rows || this.latents != latents)
            throw new IllegalArgumentException(what + ": the workspace's latents were encoded for (" + this.rows + ", "
                    + this.latents + "), used with (" + rows + ", " + latents + ")");
    }
}
