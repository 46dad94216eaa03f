package io.sae4j.harvest;

import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A user file's identity in a manifest: its absolute path and the SHA-256 of its whole content.
 * (io.sae4j.data.Fingerprint samples rows of a .npy file; a model, tokenizer or text file has no
 * rows, and a one-word edit of a text must change the identity, so every byte is hashed.)
 */
final class FileIdentity {
    private FileIdentity() {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JVM has it
        }
    }

    static String sha256(byte[] content) {
        return hex(sha256().digest(content));
    }

    static String hex(byte[] digest) {
        StringBuilder b = new StringBuilder(2 * digest.length);
        for (byte x : digest) b.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        return b.toString();
    }

    /** {"path": absolute path, "sha256": hex}. */
    static JsonObject json(Path file, String sha256) {
        JsonObject o = new JsonObject();
        o.addProperty("path", file.toAbsolutePath().normalize().toString());
        o.addProperty("sha256", sha256);
        return o;
    }
}
