package io.sae4j.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads an SAE from any format sae4j knows, detected from the files there. */
public final class SaeFiles {
    private SaeFiles() {}

    /**
     * A SAELens directory (cfg.json + sae_weights.safetensors, which sae4j writes too), an
     * EleutherAI sparsify hookpoint directory (cfg.json + sae.safetensors), or a dictionary_learning
     * trainer directory (ae.pt + config.json; or the .pt file itself, config.json beside it), or an
     * OpenAI sparse_autoencoder state dict (.pt).
     */
    public static SaeFile read(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        if (Files.isDirectory(path)) {
            // an unreadable folder hides its files: say so rather than "not an SAE"
            if (!Files.isReadable(path) || !Files.isExecutable(path))
                throw new AccessDeniedException(path.toString());
            if (Files.isRegularFile(path.resolve(SaeLensFormat.WEIGHTS))) return SaeLensFormat.read(path);
            if (SparsifyFormat.detect(path)) return SparsifyFormat.read(path);
            if (DictionaryLearningFormat.detect(path)) return DictionaryLearningFormat.read(path);
        } else if (path.getFileName().toString().endsWith(".pt")) {
            if (Files.isRegularFile(path.toAbsolutePath().resolveSibling(DictionaryLearningFormat.CONFIG)))
                return DictionaryLearningFormat.read(path);
            java.util.Map<String, Object> sd = TorchZip.read(path);
            if (OpenAiFormat.detect(sd)) return OpenAiFormat.read(path, sd);
            throw new FormatException(path, "a state dict with neither an OpenAI sparse_autoencoder's pre_bias and latent_bias"
                    + " nor a dictionary_learning config.json beside it");
        }
        throw new FormatException(path, "not an SAE sae4j reads: expected a SAELens or sae4j directory (cfg.json and "
                + SaeLensFormat.WEIGHTS + "), a sparsify hookpoint directory (cfg.json and " + SparsifyFormat.WEIGHTS + ") or a dictionary_learning"
                + " trainer directory (" + DictionaryLearningFormat.WEIGHTS + " and config.json)");
    }
}
