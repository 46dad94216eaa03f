package io.sae4j.io;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Words for file-system failures, whose exceptions often carry only the path. */
public final class FileErrors {
    private FileErrors() {}

    /** The operating system's reason when the exception has one, else what its type means. */
    public static String reason(FileSystemException e) {
        if (e.getReason() != null) return e.getReason();
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileAlreadyExistsException) return "already exists (and is not a directory)";
        if (e instanceof NotDirectoryException) return "not a directory";
        if (e instanceof DirectoryNotEmptyException) return "directory not empty";
        return e.getClass().getSimpleName();
    }
}
