package io.sae4j.cli;

import io.sae4j.harvest.Corpus;
import io.sae4j.harvest.HarvestModel;
import io.sae4j.harvest.HarvestSpec;
import io.sae4j.harvest.Harvester;
import io.sae4j.harvest.Manifest;
import io.sae4j.harvest.OnnxModelFiles;
import io.sae4j.harvest.TextFileCorpus;
import io.sae4j.harvest.TransformerModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Harvests transformer activations on a text dataset (see {@link Harvester}). */
@Command(name = "harvest", mixinStandardHelpOptions = true,
        description = {"Harvest activations of a bundled transformer on WordNet 3.1 glosses or Europarl speech into .npy files.",
                "Or of your own BERT-family ONNX model (--onnx, --tokenizer) and/or on your own texts (--text)."})
final class HarvestCommand implements Callable<Integer> {
    static final String DEFAULT_MODEL = "minilm", DEFAULT_DATASET = "A", DEFAULT_TEXT_FIELD = "text";

    @Option(names = "--model", description = "minilm, minilm-q or bge-small (default " + DEFAULT_MODEL + "); or --onnx.")
    String model;

    @Option(names = "--onnx", paramLabel = "MODEL.onnx", description = "Your own BERT-family ONNX export (inputs input_ids, "
            + "attention_mask, optionally token_type_ids) instead of --model; needs --tokenizer.")
    Path onnx;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "The HuggingFace tokenizer.json of --onnx.")
    Path tokenizer;

    @Option(names = "--tensor", paramLabel = "NAME_OR_TEMPLATE", description = "With --onnx: the tensor to harvest, a template "
            + "holding {layer} (e.g. /encoder/layer.{layer}/output/dense/Add_output_0) or one tensor name (then give one layer, "
            + "which only labels the file). Default: the BERT export's names for --site.")
    String tensor;

    @Option(names = "--layers", split = ",", defaultValue = "0,1,2,3", description = "Layers, 0-based (default ${DEFAULT-VALUE}).")
    List<Integer> layers;

    @Option(names = "--site", defaultValue = "mlp_out", description = "mlp_out or resid (default ${DEFAULT-VALUE}).")
    String site;

    @Option(names = "--dataset", description = "WordNet half A or B, or europarl (English parliamentary speech) (default "
            + DEFAULT_DATASET + "); or --text.")
    String dataset;

    @Option(names = "--text", paramLabel = "FILE", description = "Your own texts instead of --dataset: a UTF-8 file of one "
            + "document a line (blank lines skipped), or a .jsonl file of one JSON object a line.")
    Path text;

    @Option(names = "--text-field", paramLabel = "FIELD", description = "With a .jsonl --text: the string field holding the "
            + "document (default " + DEFAULT_TEXT_FIELD + ").")
    String textField;

    @Option(names = "--tokens", defaultValue = "100000", description = "Tokens to harvest (default ${DEFAULT-VALUE}).")
    long tokens;

    @Option(names = "--float16", description = "Store activations as float16 (half the disk).")
    boolean float16;

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (onnx != null && model != null) throw new IllegalArgumentException("give --model or --onnx, not both");
        if (onnx == null && (tokenizer != null || tensor != null))
            throw new IllegalArgumentException((tokenizer != null ? "--tokenizer" : "--tensor") + " goes with --onnx (your own model)");
        if (onnx != null && tokenizer == null)
            throw new IllegalArgumentException("--onnx needs --tokenizer (the model's HuggingFace tokenizer.json)");
        if (text != null && dataset != null) throw new IllegalArgumentException("give --dataset or --text, not both");
        if (textField != null && (text == null || !TextFileCorpus.isJsonLines(text)))
            throw new IllegalArgumentException("--text-field goes with a .jsonl --text file");
        TransformerModel.Site s = TransformerModel.Site.of(site);
        int threads = Runtime.getRuntime().availableProcessors();
        HarvestModel m = onnx != null ? OnnxModelFiles.open(onnx, tokenizer, tensor, s, threads)
                : TransformerModel.of(model != null ? model : DEFAULT_MODEL);
        Corpus c = text != null ? TextFileCorpus.read(text, textField != null ? textField : DEFAULT_TEXT_FIELD)
                : Corpus.bundled(dataset != null ? dataset : DEFAULT_DATASET);
        HarvestSpec spec = new HarvestSpec(m, s, layers, c, tokens, float16, HarvestSpec.DEFAULT_SHARD_TOKENS);
        Harvester h = new Harvester(spec, out);
        System.err.printf(Locale.ROOT, "sae4j harvest: %s %s layers %s on %s, %d tokens -> %s (%.1f MB on disk)%n",
                m.displayName(), site, layers, c.what(), tokens, out, h.diskBytes() / 1e6);
        Manifest done;
        try (Progress p = new Progress("harvest", tokens, "tokens")) {
            done = h.run(p::update, threads);
        }
        System.out.println("wrote " + out + ": " + layers.size() + " layer file(s) of " + tokens + " x " + m.dModel()
                + ", tokens.tsv, texts.txt, " + Manifest.FILE + " (" + done.shards().size() + " shard(s))");
        return 0;
    }
}
