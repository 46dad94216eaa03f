package io.sae4j.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file is not in the format its reader expects (or promises more than it holds). The message
 * always starts with the file's path, then says what was wrong.
 */
public class FormatException extends IOException {
    private final transient Path file;

    public FormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public FormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file that was being read. */
    public Path file() {
        return file;
    }
}
