package io.sae4j.backend;

/** A backend could not do what was asked: out of device memory, a failed CUDA call, no device. */
public class BackendException extends RuntimeException {
    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
