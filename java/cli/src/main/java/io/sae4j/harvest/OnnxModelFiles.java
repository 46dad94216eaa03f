package io.sae4j.harvest;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A user's transformer: a BERT-family ONNX export (HF optimum / sentence-transformers: inputs
 * input_ids, attention_mask and optionally token_type_ids) with its HuggingFace tokenizer.json.
 * <p>Layer outputs are found by name: the names the bundled models use
 * ({@code /encoder/layer.{layer}/output/dense/Add_output_0} for mlp_out,
 * {@code /encoder/layer.{layer}/output/LayerNorm/Add_1_output_0} for resid, the last layer's resid
 * being the graph output {@code last_hidden_state}), or a {@code --tensor} template holding
 * {@code {layer}}, or one literal tensor name (one layer, whose number is only a label). The number
 * of layers is the largest L with a matching tensor, plus one. d_model is the last dimension of the
 * tensor on a short probe text, so no shape inference is needed.
 * <p>{@link #open} checks everything it can before a harvest starts and says what is wrong in one
 * line naming the file: not ONNX, inputs missing, no such tensor, a tokenizer whose ids exceed the
 * model's embedding table, a tokenizer file that is not a tokenizer.json.
 */
public final class OnnxModelFiles implements HarvestModel {
    /** The probe text d_model is read from. */
    static final String PROBE = "The quick brown fox jumps over the lazy dog.";
    static final String LAYER = "{layer}";
    /** The inputs sae4j gives: the first two are required. */
    static final List<String> BERT_INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");
    static final String MLP_OUT = "/encoder/layer.{layer}/output/dense/Add_output_0",
            RESID = "/encoder/layer.{layer}/output/LayerNorm/Add_1_output_0", LAST_HIDDEN = "last_hidden_state";

    private final Path onnx, tokenizer;
    private final String onnxSha, tokenizerSha;
    /** The --tensor option: null (BERT names), a template holding {layer}, or one literal name. */
    private final String tensor;
    private final OnnxGraph.Info graph;
    private final int layers;
    private int dModel;

    private OnnxModelFiles(Path onnx, Path tokenizer, String onnxSha, String tokenizerSha, String tensor, OnnxGraph.Info graph,
                           int layers) {
        this.onnx = onnx;
        this.tokenizer = tokenizer;
        this.onnxSha = onnxSha;
        this.tokenizerSha = tokenizerSha;
        this.tensor = tensor;
        this.graph = graph;
        this.layers = layers;
    }

    /**
     * Reads and checks the model and tokenizer, and probes d_model at {@code site} (the tensor of
     * layer 0, or the literal tensor). {@code tensor} is the --tensor option or null.
     */
    public static OnnxModelFiles open(Path onnx, Path tokenizer, String tensor, TransformerModel.Site site, int threads)
            throws IOException {
        byte[] model = readFile(onnx, "--onnx, an ONNX model");
        OnnxGraph.Info graph = OnnxGraph.read(model, onnx.toString());
        if (graph.externalData())
            throw new IllegalArgumentException(onnx + ": keeps its weights in external data files; sae4j reads single-file ONNX models"
                    + " (under 2 GB)");
        List<String> missing = new ArrayList<>();
        for (String in : BERT_INPUTS.subList(0, 2))
            if (!graph.inputs().contains(in)) missing.add(in);
        if (!missing.isEmpty())
            throw new IllegalArgumentException(onnx + ": has no input " + String.join(" or ", missing) + "; sae4j runs BERT-family exports"
                    + " (inputs input_ids, attention_mask, optionally token_type_ids); its inputs are " + graph.inputs());
        List<String> extra = new ArrayList<>(graph.inputs());
        extra.removeAll(BERT_INPUTS);
        if (!extra.isEmpty())
            throw new IllegalArgumentException(onnx + ": needs input(s) " + extra + " that sae4j does not give (it gives input_ids,"
                    + " attention_mask and token_type_ids)");
        if (tensor != null && tensor.isBlank()) throw new IllegalArgumentException("--tensor is empty");

        byte[] tok = readFile(tokenizer, "--tokenizer, a HuggingFace tokenizer.json");
        TokenIds ids = tokenIds(tokenizer, tok);
        if (graph.embeddingRows() > 0 && ids.max() >= graph.embeddingRows())
            throw new IllegalArgumentException(tokenizer + " does not fit " + onnx + ": its token id " + ids.max() + " (" + ids.which()
                    + ") is not below the model's " + graph.embeddingRows() + " word-embedding rows; give the tokenizer.json exported"
                    + " with this model");

        OnnxModelFiles m = new OnnxModelFiles(onnx, tokenizer, FileIdentity.sha256(model), FileIdentity.sha256(tok), tensor, graph,
                countLayers(onnx, graph, tensor));
        m.dModel = m.probe(model, site, threads);
        return m;
    }

    private static byte[] readFile(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file))
            throw new IllegalArgumentException(file + ": " + (Files.exists(file) ? "not a file" : "no such file") + " (" + what + ")");
        if (!Files.isReadable(file)) throw new IllegalArgumentException(file + ": not readable (" + what + ")");
        if (Files.size(file) > Integer.MAX_VALUE - 64)
            throw new IllegalArgumentException(file + ": over 2 GB; sae4j reads single-file models under 2 GB (" + what + ")");
        return Files.readAllBytes(file);
    }

    /** The tokenizer's largest token id and which entry holds it. */
    record TokenIds(long max, String which) {}

    /**
     * The largest id of a tokenizer.json: of model.vocab (an object token -> id: WordPiece, BPE,
     * WordLevel; or an array of [piece, score]: Unigram, ids by position) and of added_tokens.
     */
    static TokenIds tokenIds(Path file, byte[] json) {
        String notTokenizer = file + ": not a HuggingFace tokenizer.json";
        JsonElement root;
        try {
            root = JsonParser.parseString(new String(json, StandardCharsets.UTF_8));
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(notTokenizer + " (not JSON)", e);
        }
        if (!root.isJsonObject() || !root.getAsJsonObject().has("model") || !root.getAsJsonObject().get("model").isJsonObject())
            throw new IllegalArgumentException(notTokenizer + " (no \"model\" object)");
        JsonElement vocab = root.getAsJsonObject().getAsJsonObject("model").get("vocab");
        long max = -1;
        String which = "";
        try {
            if (vocab != null && vocab.isJsonObject()) {
                for (var e : vocab.getAsJsonObject().entrySet())
                    if (e.getValue().getAsLong() > max) {
                        max = e.getValue().getAsLong();
                        which = "vocab entry '" + e.getKey() + "'";
                    }
            } else if (vocab != null && vocab.isJsonArray()) {
                max = vocab.getAsJsonArray().size() - 1;
                which = "the last of " + vocab.getAsJsonArray().size() + " vocab pieces";
            } else throw new IllegalArgumentException(notTokenizer + " (no model.vocab)");
            JsonElement added = root.getAsJsonObject().get("added_tokens");
            if (added != null && added.isJsonArray())
                for (JsonElement a : added.getAsJsonArray()) {
                    JsonObject o = a.getAsJsonObject();
                    if (o.has("id") && o.get("id").getAsLong() > max) {
                        max = o.get("id").getAsLong();
                        which = "added token '" + (o.has("content") ? o.get("content").getAsString() : "?") + "'";
                    }
                }
        } catch (IllegalStateException | UnsupportedOperationException | NumberFormatException e) {
            throw new IllegalArgumentException(notTokenizer + " (a vocab or added_tokens id is not a number)", e);
        }
        if (max < 0) throw new IllegalArgumentException(notTokenizer + " (its vocab is empty)");
        return new TokenIds(max, which);
    }

    /** Layers in the graph: the largest L whose tensor exists, plus one (0 for a literal --tensor). */
    private static int countLayers(Path onnx, OnnxGraph.Info graph, String tensor) {
        if (tensor != null && !tensor.contains(LAYER)) {
            if (!graph.has(tensor))
                throw new IllegalArgumentException(onnx + ": has no tensor '" + tensor + "' (--tensor); similar: " + similar(graph, tensor));
            return 0;
        }
        List<String> templates = tensor != null ? List.of(tensor) : List.of(MLP_OUT, RESID);
        int last = -1;
        for (String t : templates) {
            Pattern p = Pattern.compile(Arrays.stream(t.split(Pattern.quote(LAYER), -1)).map(Pattern::quote)
                    .reduce((a, b) -> a + "(\\d{1,6})" + b).orElseThrow());
            for (String name : graph.produced()) {
                Matcher m = p.matcher(name);
                if (m.matches()) last = Math.max(last, Integer.parseInt(m.group(1)));
            }
        }
        if (last < 0)
            throw new IllegalArgumentException(onnx + ": has no tensor matching '" + templates.get(0) + "'" + (tensor != null ? " (--tensor)"
                    : " (the names of a BERT export)") + "; similar: " + similar(graph, templates.get(0))
                    + (tensor == null ? "; name the layer outputs with --tensor" : ""));
        return last + 1;
    }

    private static List<String> similar(OnnxGraph.Info graph, String wanted) {
        Set<String> all = new java.util.LinkedHashSet<>(graph.produced());
        all.addAll(graph.outputs());
        return OnnxGraph.closest(all, wanted.replace(LAYER, "0"));
    }

    /** Runs the probe text and returns the last dimension of the probed tensor. */
    private int probe(byte[] model, TransformerModel.Site site, int threads) throws IOException {
        return NativeExit.guarded(() -> probeNow(model, site, threads));
    }

    private int probeNow(byte[] model, TransformerModel.Site site, int threads) throws IOException {
        String name = tensor != null && !tensor.contains(LAYER) ? tensor : tensorName(site, 0);
        byte[] exposed = OnnxGraph.exposeOutputs(model, List.of(name), onnx.toString());
        HuggingFaceTokenizer tok;
        try {
            tok = Harvester.Model.tokenizer(tokenizer);
        } catch (RuntimeException e) { // the native tokenizers library refusing the file
            throw new IllegalArgumentException(tokenizer + ": not a HuggingFace tokenizer.json (" + firstLine(e.getMessage()) + ")", e);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (tok; OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(Math.max(1, threads));
            opts.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL); // a refusal is reported in one line, not logged too
            OrtSession session;
            try {
                session = env.createSession(exposed, opts);
            } catch (OrtException e) {
                throw new IllegalArgumentException(onnx + ": ONNX Runtime cannot load it: " + ortMessage(e), e);
            }
            try (session) {
                Encoding enc = tok.encode(PROBE);
                long[] shape = {1, enc.getIds().length};
                long[][] out = new long[1][];
                try {
                    Harvester.Model.forward(env, session, enc.getIds(), enc.getAttentionMask(), enc.getTypeIds(), shape, Set.of(name), r -> {
                        OnnxValue v = r.get(name).orElseThrow();
                        if (!(v instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT)
                            throw new IllegalArgumentException(onnx + ": tensor '" + name + "' is not float32 (" + v.getInfo()
                                    + "); sae4j harvests float32 tensors");
                        out[0] = t.getInfo().getShape();
                    });
                } catch (OrtException e) {
                    throw new IllegalArgumentException((graph.embeddingRows() > 0 ? onnx + ": ONNX Runtime failed on a probe text: "
                            : tokenizer + " does not fit " + onnx + ": ") + ortMessage(e), e);
                }
                long[] s = out[0];
                if (s.length != 3 || s[0] != 1 || s[1] != shape[1] || s[2] < 1)
                    throw new IllegalArgumentException(onnx + ": tensor '" + name + "' has shape " + Arrays.toString(s) + " on a "
                            + shape[1] + "-token text; sae4j harvests tensors of shape (batch, tokens, d)");
                return Math.toIntExact(s[2]);
            }
        } catch (OrtException e) { // setting threads, closing the session
            throw new IOException(onnx + ": " + ortMessage(e), e);
        }
    }

    /** The first line of ONNX Runtime's message, without its "Error code - ORT_... - message:" prefix. */
    static String ortMessage(OrtException e) {
        return firstLine(String.valueOf(e.getMessage()).replaceFirst("^Error code - \\S+ - message:\\s*", ""));
    }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        s = s.strip();
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl).strip();
    }

    /**
     * The file's name without ".onnx", each run of other characters than letters, digits, '.', '_'
     * and '-' as one '_' (none at the ends): it names the study's harvest folders and SAEs
     * ({@code "My model (v2).onnx"}: {@code acts/My_model_v2-A}).
     */
    @Override
    public String key() {
        String k = String.valueOf(onnx.getFileName()).replaceFirst("(?i)\\.onnx$", "").replaceAll("[^A-Za-z0-9._-]+", "_")
                .replaceAll("^_+|_+$", "");
        return k.isEmpty() || k.startsWith(".") ? "onnx" + k : k;
    }

    @Override
    public String displayName() {
        return onnx.getFileName() + " (ONNX file)";
    }

    @Override
    public int dModel() {
        return dModel;
    }

    /** Layers found in the graph (0 when a literal --tensor names the one tensor). */
    public int layers() {
        return layers;
    }

    @Override
    public String tensorName(TransformerModel.Site site, int layer) {
        if (layer < 0) throw new IllegalArgumentException("layers are 0-based, got " + layer);
        if (tensor != null && !tensor.contains(LAYER)) return tensor;
        if (layer >= layers)
            throw new IllegalArgumentException(onnx + " has layers 0.." + (layers - 1) + " (found in its graph), got " + layer);
        String template = tensor != null ? tensor : site == TransformerModel.Site.MLP_OUT ? MLP_OUT : RESID;
        String name = template.replace(LAYER, Integer.toString(layer));
        if (graph.has(name)) return name;
        // the last block's residual output is the graph output itself in HF exports
        if (tensor == null && site == TransformerModel.Site.RESID && layer == layers - 1 && graph.outputs().contains(LAST_HIDDEN))
            return LAST_HIDDEN;
        throw new IllegalArgumentException(onnx + ": has no tensor '" + name + "'" + (tensor != null ? " (--tensor)" : "")
                + "; similar: " + similar(graph, name));
    }

    @Override
    public void checkLayers(TransformerModel.Site site, List<Integer> requested) {
        if (tensor != null && !tensor.contains(LAYER) && requested.size() != 1)
            throw new IllegalArgumentException("--tensor '" + tensor + "' names one tensor, so give one layer (it only labels the"
                    + " output file), got " + requested + "; a template with {layer} names one tensor a layer");
        HarvestModel.super.checkLayers(site, requested);
    }

    @Override
    public byte[] onnxBytes() throws IOException {
        return Files.readAllBytes(onnx);
    }

    @Override
    public byte[] tokenizerJson() throws IOException {
        return Files.readAllBytes(tokenizer);
    }

    @Override
    public String source() {
        return onnx.toString();
    }

    @Override
    public void addIdentity(JsonObject identity) {
        identity.add("onnx", FileIdentity.json(onnx, onnxSha));
        identity.add("tokenizer", FileIdentity.json(tokenizer, tokenizerSha));
        identity.addProperty("tensor", tensor != null ? tensor : "BERT export names");
    }

    @Override
    public String toString() {
        return onnx + " with " + tokenizer + (tensor != null ? ", tensor " + tensor : "") + " (" + (layers > 0 ? layers + " layers, " : "")
                + "d " + dModel + ")";
    }
}
