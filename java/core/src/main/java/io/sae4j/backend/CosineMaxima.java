package io.sae4j.backend;

/**
 * Row and column maxima of a cosine (or Pearson) matrix with their argmax, kept on the backend by
 * {@link Backend#cosineMax}; {@link #toHost()} reads them back.
 */
public final class CosineMaxima implements AutoCloseable {
    private final FloatBuf rowMax, colMax;
    private final IntBuf rowArg, colArg;

    public CosineMaxima(Backend backend, long n1, long n2) {
        rowMax = backend.allocate(n1);
        rowArg = backend.allocateInts(n1);
        colMax = backend.allocate(n2);
        colArg = backend.allocateInts(n2);
    }

    public FloatBuf rowMax() { return rowMax; }
    public IntBuf rowArg() { return rowArg; }
    public FloatBuf colMax() { return colMax; }
    public IntBuf colArg() { return colArg; }

    public CosineMax toHost() {
        Backend be = rowMax.backend();
        return new CosineMax(be.download(rowMax), be.download(rowArg), be.download(colMax), be.download(colArg));
    }

    @Override
    public void close() {
        rowMax.close();
        rowArg.close();
        colMax.close();
        colArg.close();
    }
}
