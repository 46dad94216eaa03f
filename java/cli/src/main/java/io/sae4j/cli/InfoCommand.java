package io.sae4j.cli;

import io.sae4j.io.SaeFile;
import io.sae4j.io.NpyReader;
import io.sae4j.io.SaeFiles;
import io.sae4j.io.SaeLensFormat;
import io.sae4j.io.SparsifyFormat;
import io.sae4j.io.Safetensors;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Prints shapes, dtypes and configuration of an .npy, a .safetensors or an SAE directory (format detected). */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show shapes, dtypes and config of a .npy file, a .safetensors file, or an SAE (SAELens/sae4j,"
                + " sparsify or dictionary_learning directory, OpenAI .pt): the format detected and whether it runs forward.")
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "File or SAE directory.")
    Path path;

    @Override
    public Integer call() throws Exception {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        String name = path.getFileName().toString();
        if (Files.isDirectory(path) || name.endsWith(".pt")) {
            SaeFile f = SaeFiles.read(path);
            System.out.printf("%s: %s SAE, architecture %s, d_in %d, d_sae %d (ratio %s)%s%n", path, f.format(),
                    f.architecture(), f.dIn(), f.dSae(), TrainCommand.fmt((double) f.dSae() / f.dIn()),
                    f.k() != null ? ", k " + f.k() : "");
            for (String note : f.notes()) System.out.println("  read: " + note);
            System.out.println(f.forwardRefusal() == null ? "  runs forward in sae4j: yes"
                    : "  runs forward in sae4j: no (" + f.forwardRefusal() + "); directions can be compared");
            for (String file : new String[] {SaeLensFormat.WEIGHTS, SparsifyFormat.WEIGHTS})
                if (Files.isRegularFile(path.resolve(file))) tensors(path.resolve(file));
            if (f.config().size() > 0) System.out.println("config: " + f.config());
        } else if (name.endsWith(".npy")) {
            try (NpyReader r = NpyReader.open(path)) {
                System.out.printf("%s: npy %s, shape %s, dtype %s, %d bytes%n", path, r.version(), Arrays.toString(r.shape()),
                        r.dtype(), Files.size(path));
            }
        } else if (name.endsWith(".safetensors")) {
            tensors(path);
        } else {
            throw new IllegalArgumentException(path + ": expected a .npy file, a .safetensors file, an SAE directory or a .pt state dict");
        }
        return 0;
    }

    private static void tensors(Path file) throws Exception {
        Safetensors.Contents c = Safetensors.read(file);
        System.out.println(file + ":");
        for (Map.Entry<String, Safetensors.Tensor> e : c.tensors().entrySet())
            System.out.printf("  %-12s %-5s %s%n", e.getKey(), e.getValue().dtype(), Arrays.toString(e.getValue().shape()));
        if (!c.metadata().isEmpty()) System.out.println("  metadata: " + c.metadata());
    }
}
