package io.sae4j.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads an SAE from any format sae4j knows, detected from the files there. */
public final class SaeFiles {
    private SaeFiles() {}

    /**
     * A SAELens directory (cfg.json + sae_weights.safetensors, which sae4j writes too), an
     * EleutherAI sparsify hookpoint directory (cfg.json + sae.safetensors), or a dictionary_learning
     * trainer directory (ae.pt + config.json; or the .pt file itself, config.json beside it).
     */
    public static SaeFile read(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(SaeLensFormat.WEIGHTS))) return SaeLensFormat.read(path);
            if (SparsifyFormat.detect(path)) return SparsifyFormat.read(path);
            if (DictionaryLearningFormat.detect(path)) return DictionaryLearningFormat.read(path);
        } else if (path.getFileName().toString().endsWith(".pt")) {
            return DictionaryLearningFormat.read(path);
        }
        throw new FormatException(path, "not an SAE sae4j reads: expected a SAELens or sae4j directory (cfg.json and "
                + SaeLensFormat.WEIGHTS + "), a sparsify hookpoint directory (cfg.json and " + SparsifyFormat.WEIGHTS + ") or a dictionary_learning"
                + " trainer directory (" + DictionaryLearningFormat.WEIGHTS + " and config.json)");
    }
}
