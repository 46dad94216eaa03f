package io.sae4j.harvest;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sae4j.io.Npy;
import io.sae4j.io.NpyReader;
import io.sae4j.io.NpyWriter;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Harvests activations of a transformer on a text dataset (WordNet halves, Europarl) into a directory: {@code layer<L>.npy}
 * (tokens, d) per layer, {@code tokens.tsv} (text, position, token id, token, character span of
 * every row) and {@code manifest.json}. Padding and special tokens ([CLS], [SEP], [PAD]) are left
 * out. Work is saved in shards of {@link HarvestSpec#shardTokens} tokens, each recorded in the
 * manifest when complete, so an interrupted harvest resumes at its last shard; a complete one with
 * the same spec returns at once.
 */
public final class Harvester {
    private static final int BATCH_TEXTS = 32, WINDOW_TEXTS = 512, MAX_TOKENS = 128;

    private final HarvestSpec spec;
    private final Path dir;

    /** Tokens every WordNet half holds under the bundled tokenizers (about 950k each; they tokenise alike). */
    static final long SURELY_AVAILABLE = 900_000;
    /** Tokens the English Europarl sample surely holds (259,530 under MiniLM's tokenizer). */
    public static final long EUROPARL_SURELY_AVAILABLE = 200_000;

    public Harvester(HarvestSpec spec, Path dir) {
        this.spec = spec;
        this.dir = dir;
    }

    /** Bytes the finished harvest takes on disk (activations; tokens.tsv is about 40 bytes a row). */
    public long diskBytes() {
        return spec.tokens() * (spec.layers().size() * (long) spec.model().dModel() * (spec.float16() ? 2 : 4) + 40);
    }

    /** Runs (or resumes, or finds finished) the harvest; progress receives tokens done. */
    public Manifest run(LongConsumer progress, int threads) throws IOException {
        boolean created = !Files.exists(dir);
        Files.createDirectories(dir);
        Manifest m = Manifest.readOrStart(dir, spec);
        if (m.complete()) {
            progress.accept(spec.tokens());
            return m;
        }
        List<String> texts = spec.corpus().texts();
        try (Model model = new Model(spec, threads)) {
            // more than the corpus surely holds: count with the tokenizer alone (seconds) and refuse
            // before any activation is written
            long sure = spec.model() instanceof TransformerModel ? spec.corpus().surelyAvailable() : 0;
            long available = spec.tokens() <= sure ? spec.tokens() : model.keptTokens(texts, spec.tokens());
            if (spec.tokens() > available) {
                if (created) Files.deleteIfExists(dir); // nothing of this run is left behind
                throw new IllegalArgumentException("--tokens " + spec.tokens() + ": " + spec.corpus().what()
                        + (spec.corpus() instanceof Corpus.Bundled ? " has at most " + available + " tokens for " + spec.model().key()
                        : " has only " + available + " tokens under " + spec.model().key() + "'s tokenizer (each text cut at "
                        + MAX_TOKENS + ", special tokens left out)"));
            }
            long done = m.tokensInShards();
            int nextText = m.nextText();
            progress.accept(done);
            while (done < spec.tokens()) {
                if (nextText >= texts.size())
                    throw new IllegalArgumentException(spec.corpus().what() + " has only " + done
                            + " tokens; asked for " + spec.tokens());
                int want = (int) Math.min(spec.shardTokens(), spec.tokens() - done);
                Shard s = model.shard(texts, nextText, want, progress, done);
                writeShard(m.shards().size(), s);
                m = m.withShard(new Manifest.ShardInfo(m.shards().size(), nextText, s.endText, s.rows));
                m.write(dir);
                done += s.rows;
                nextText = s.endText;
            }
        } catch (OrtException e) {
            throw new IOException(spec.model().key() + ": ONNX Runtime failed: " + e.getMessage(), e);
        }
        return concatenate(m, texts);
    }

    /** Activations (rows, d) per layer and the token table of one shard. */
    static final class Shard {
        final float[][] acts;
        final StringBuilder tokens = new StringBuilder();
        int rows, endText;

        Shard(int layers, int capacity, int d) {
            acts = new float[layers][capacity * d];
        }
    }

    private Path shardFile(int shard, String kind) {
        return dir.resolve("shards").resolve(kind + "-" + shard + (kind.equals("tokens") ? ".tsv" : ".npy"));
    }

    private void writeShard(int index, Shard s) throws IOException {
        Files.createDirectories(dir.resolve("shards"));
        int d = spec.model().dModel();
        for (int l = 0; l < spec.layers().size(); l++)
            NpyWriter.write(shardFile(index, "L" + spec.layers().get(l)), java.util.Arrays.copyOf(s.acts[l], s.rows * d),
                    s.rows, d, spec.float16());
        Path tsv = shardFile(index, "tokens");
        Files.writeString(tsv.resolveSibling(tsv.getFileName() + ".tmp"), s.tokens, StandardCharsets.UTF_8);
        Files.move(tsv.resolveSibling(tsv.getFileName() + ".tmp"), tsv, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Joins the shards into one file per layer, writes texts.txt, marks the manifest complete. */
    private Manifest concatenate(Manifest m, List<String> texts) throws IOException {
        int d = spec.model().dModel();
        for (int layer : spec.layers()) {
            NpyWriter w = NpyWriter.open(dir.resolve("layer" + layer + ".npy"), d, spec.float16() ? Npy.Dtype.F16 : Npy.Dtype.F32);
            try {
                for (Manifest.ShardInfo s : m.shards())
                    try (NpyReader r = NpyReader.open(shardFile(s.index(), "L" + layer))) {
                        float[] all = r.readAll();
                        w.append(all, 0, (int) r.rows());
                    }
                w.close();
            } catch (IOException | RuntimeException e) {
                w.abort();
                throw e;
            }
        }
        try (BufferedWriter t = Files.newBufferedWriter(dir.resolve("tokens.tsv"), StandardCharsets.UTF_8)) {
            t.write("text\tposition\ttoken_id\ttoken\tchar_start\tchar_end\n");
            for (Manifest.ShardInfo s : m.shards()) t.write(Files.readString(shardFile(s.index(), "tokens"), StandardCharsets.UTF_8));
        }
        int used = m.nextText();
        try (BufferedWriter t = Files.newBufferedWriter(dir.resolve("texts.txt"), StandardCharsets.UTF_8)) {
            for (int i = 0; i < used; i++) t.write(texts.get(i).replace('\n', ' ') + "\n");
        }
        Manifest done = m.completed();
        done.write(dir);
        try (var files = Files.list(dir.resolve("shards"))) {
            for (Path p : files.toList()) Files.delete(p);
        }
        Files.delete(dir.resolve("shards"));
        return done;
    }

    /** The tokenizer and the ONNX session with the requested tensors exposed. */
    static final class Model implements AutoCloseable {
        final HarvestSpec spec;
        final HuggingFaceTokenizer tokenizer;
        final OrtEnvironment env = NativeExit.guarded(OrtEnvironment::getEnvironment);
        final OrtSession session;
        final List<String> outputs = new ArrayList<>();
        final Path tokenizerFile;

        Model(HarvestSpec spec, int threads) throws IOException, OrtException {
            this.spec = spec;
            HarvestModel tm = spec.model();
            for (int l : spec.layers()) outputs.add(tm.tensorName(spec.site(), l));
            byte[] onnx = OnnxGraph.exposeOutputs(tm.onnxBytes(), outputs, tm.source());
            session = NativeExit.guarded(() -> {
                try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                    opts.setIntraOpNumThreads(Math.max(1, threads));
                    return env.createSession(onnx, opts);
                }
            });
            tokenizerFile = Files.createTempFile("sae4j-tokenizer-", ".json");
            try {
                Files.write(tokenizerFile, tm.tokenizerJson());
                tokenizer = tokenizer(tokenizerFile);
            } catch (IOException | RuntimeException e) {
                NativeExit.guarded(() -> {
                    session.close();
                    return null;
                });
                Files.deleteIfExists(tokenizerFile);
                throw e;
            }
        }

        /** The tokenizer every harvest uses: the same 128-token limit for every model (bge-small's tokenizer.json sets none), no padding. */
        static HuggingFaceTokenizer tokenizer(Path tokenizerJson) throws IOException {
            // DJL picks its tokenizer library's CUDA build when it sees a GPU, and that build is not
            // in the jar: it would download it, and offline it fails ("Failed to load Huggingface
            // native library", seen on an H200). Offline mode makes it use the jar's CPU build.
            if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null)
                System.setProperty("ai.djl.offline", "true");
            return NativeExit.guarded(() -> HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson).optMaxLength(MAX_TOKENS)
                    .optTruncation(true).optPadding(false).build());
        }

        /** What a caller does with a forward pass's outputs while its inputs are alive. */
        interface Outputs {
            void use(OrtSession.Result r) throws OrtException;
        }

        /**
         * Runs a batch (ids, attention mask and token types of {@code shape} = (texts, tokens)) and
         * hands the requested outputs to {@code use}; token_type_ids goes in where the graph takes it.
         */
        static void forward(OrtEnvironment env, OrtSession session, long[] ids, long[] mask, long[] types, long[] shape,
                            java.util.Set<String> outputs, Outputs use) throws OrtException {
            NativeExit.guarded(() -> {
                try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                     OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                     OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape)) {
                    Map<String, OnnxTensor> in = new HashMap<>();
                    in.put("input_ids", a);
                    in.put("attention_mask", b);
                    if (session.getInputNames().contains("token_type_ids")) in.put("token_type_ids", c);
                    try (OrtSession.Result r = session.run(in, outputs)) {
                        use.use(r);
                    }
                }
                return null;
            });
        }

        /**
         * Runs texts from {@code first} until {@code want} kept tokens are collected (the last text
         * may be cut). Texts go through the model a window at a time, in batches of similar length
         * (padding to the longest of 32 random glosses wasted most of the work), and are written
         * back in corpus order, so the output does not depend on the batching.
         */
        Shard shard(List<String> texts, int first, int want, LongConsumer progress, long before) throws OrtException {
            int d = spec.model().dModel(), nl = outputs.size();
            Shard s = new Shard(nl, want, d);
            int t = first;
            while (s.rows < want && t < texts.size()) {
                int n = Math.min(WINDOW_TEXTS, texts.size() - t);
                List<String> window = texts.subList(t, t + n);
                Encoding[] enc = NativeExit.guarded(() -> tokenizer.batchEncode(window));
                float[][][] acts = new float[n][][]; // [text][layer][kept tokens * d]
                Integer[] order = new Integer[n];
                for (int i = 0; i < n; i++) order[i] = i;
                java.util.Arrays.sort(order, java.util.Comparator.comparingInt(i -> realLength(enc[i])));
                for (int b = 0; b < n; b += BATCH_TEXTS) {
                    int[] batch = new int[Math.min(BATCH_TEXTS, n - b)];
                    for (int k = 0; k < batch.length; k++) batch[k] = order[b + k];
                    run(enc, batch, acts, d);
                }
                for (int i = 0; i < n && s.rows < want; i++) {
                    keep(s, enc[i], t + i, acts[i], d, want);
                    s.endText = t + i + 1; // a text cut at the shard's end is not revisited
                }
                t += n;
                progress.accept(before + s.rows);
            }
            return s;
        }

        /** How many tokens of the texts a harvest keeps (the tokenizer alone, no model run), counted until {@code enough}. */
        long keptTokens(List<String> texts, long enough) {
            long count = 0;
            for (int t = 0; t < texts.size() && count < enough; t += WINDOW_TEXTS) {
                List<String> window = texts.subList(t, Math.min(texts.size(), t + WINDOW_TEXTS));
                for (Encoding e : NativeExit.guarded(() -> tokenizer.batchEncode(window))) {
                    long[] mask = e.getAttentionMask(), special = e.getSpecialTokenMask();
                    for (int j = 0; j < mask.length; j++) if (kept(mask, special, j)) count++;
                }
            }
            return count;
        }

        /** Runs the texts {@code batch} (indices into enc) and stores each one's kept-token activations. */
        private void run(Encoding[] enc, int[] batch, float[][][] acts, int d) throws OrtException {
            int n = batch.length, nl = outputs.size();
            int T = java.util.Arrays.stream(batch).map(i -> realLength(enc[i])).max().orElse(0);
            long[] ids = new long[n * T], mask = new long[n * T], types = new long[n * T];
            for (int k = 0; k < n; k++) {
                long[] eid = enc[batch[k]].getIds(), emask = enc[batch[k]].getAttentionMask(), etype = enc[batch[k]].getTypeIds();
                for (int j = 0; j < Math.min(T, eid.length); j++) {
                    ids[k * T + j] = eid[j];
                    mask[k * T + j] = emask[j];
                    types[k * T + j] = etype[j];
                }
            }
            long[] shape = {n, T};
            forward(env, session, ids, mask, types, shape, new java.util.HashSet<>(outputs), r -> {
                for (int l = 0; l < nl; l++) {
                    FloatBuffer out = ((OnnxTensor) r.get(outputs.get(l)).get()).getFloatBuffer();
                    for (int k = 0; k < n; k++) {
                        Encoding e = enc[batch[k]];
                        long[] emask = e.getAttentionMask(), special = e.getSpecialTokenMask();
                        if (acts[batch[k]] == null) acts[batch[k]] = new float[nl][];
                        float[] dst = new float[kept(e, T) * d];
                        int row = 0;
                        for (int j = 0; j < Math.min(T, emask.length); j++) {
                            if (!kept(emask, special, j)) continue;
                            out.position((k * T + j) * d);
                            out.get(dst, row++ * d, d);
                        }
                        acts[batch[k]][l] = dst;
                    }
                }
            });
        }

        /** Whether token j of an encoding is kept: a real token (not padding), not [CLS]/[SEP]. */
        private static boolean kept(long[] mask, long[] special, int j) {
            return mask[j] != 0 && special[j] == 0;
        }

        private static int kept(Encoding e, int T) {
            long[] mask = e.getAttentionMask(), special = e.getSpecialTokenMask();
            int n = 0;
            for (int j = 0; j < Math.min(T, mask.length); j++)
                if (kept(mask, special, j)) n++;
            return n;
        }

        /** Appends text ti's kept tokens (activations per layer, in position order) to the shard. */
        private void keep(Shard s, Encoding e, int ti, float[][] acts, int d, int want) {
            long[] ids = e.getIds(), mask = e.getAttentionMask(), special = e.getSpecialTokenMask();
            String[] toks = e.getTokens();
            CharSpan[] spans = e.getCharTokenSpans();
            int k = 0; // index among the text's kept tokens
            for (int j = 0; j < ids.length && s.rows < want; j++) {
                if (!kept(mask, special, j)) continue;
                for (int l = 0; l < acts.length; l++) System.arraycopy(acts[l], k * d, s.acts[l], s.rows * d, d);
                k++;
                CharSpan sp = spans != null && j < spans.length ? spans[j] : null;
                s.tokens.append(ti).append('\t').append(j).append('\t').append(ids[j]).append('\t')
                        .append(toks[j].replace('\t', ' ').replace('\n', ' ')).append('\t')
                        .append(sp != null ? sp.getStart() : -1).append('\t').append(sp != null ? sp.getEnd() : -1).append('\n');
                s.rows++;
            }
        }

        private static int realLength(Encoding e) {
            long[] mask = e.getAttentionMask();
            int len = 0;
            for (int j = 0; j < mask.length; j++)
                if (mask[j] != 0) len = j + 1;
            return Math.max(1, len);
        }

        @Override
        public void close() throws IOException {
            try {
                NativeExit.guarded(() -> {
                    tokenizer.close();
                    session.close();
                    return null;
                });
            } catch (OrtException e) {
                throw new IOException(e);
            }
            Files.deleteIfExists(tokenizerFile);
        }
    }
}
