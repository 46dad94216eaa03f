package io.sae4j.cli;

import io.sae4j.harvest.HarvestSpec;
import io.sae4j.harvest.Harvester;
import io.sae4j.harvest.Manifest;
import io.sae4j.harvest.TransformerModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Harvests transformer activations on a text dataset (see {@link Harvester}). */
@Command(name = "harvest", mixinStandardHelpOptions = true,
        description = "Harvest activations of a bundled transformer on WordNet 3.1 glosses or Europarl speech into .npy files.")
final class HarvestCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "minilm", description = "minilm, minilm-q or bge-small (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--layers", split = ",", defaultValue = "0,1,2,3", description = "Layers, 0-based (default ${DEFAULT-VALUE}).")
    List<Integer> layers;

    @Option(names = "--site", defaultValue = "mlp_out", description = "mlp_out or resid (default ${DEFAULT-VALUE}).")
    String site;

    @Option(names = "--dataset", defaultValue = "A", description = "WordNet half A or B, or europarl (English parliamentary speech) (default ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--tokens", defaultValue = "100000", description = "Tokens to harvest (default ${DEFAULT-VALUE}).")
    long tokens;

    @Option(names = "--float16", description = "Store activations as float16 (half the disk).")
    boolean float16;

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Override
    public Integer call() throws Exception {
        TransformerModel m = TransformerModel.of(model);
        HarvestSpec spec = new HarvestSpec(m, TransformerModel.Site.of(site), layers, dataset, tokens, float16,
                HarvestSpec.DEFAULT_SHARD_TOKENS);
        Harvester h = new Harvester(spec, out);
        System.err.printf(Locale.ROOT, "sae4j harvest: %s %s layers %s on dataset %s, %d tokens -> %s (%.1f MB on disk)%n",
                m.displayName, site, layers, dataset, tokens, out, h.diskBytes() / 1e6);
        Manifest done;
        try (Progress p = new Progress("harvest", tokens, "tokens")) {
            done = h.run(p::update, Runtime.getRuntime().availableProcessors());
        }
        System.out.println("wrote " + out + ": " + layers.size() + " layer file(s) of " + tokens + " x " + m.dModel
                + ", tokens.tsv, texts.txt, " + Manifest.FILE + " (" + done.shards().size() + " shard(s))");
        return 0;
    }
}
