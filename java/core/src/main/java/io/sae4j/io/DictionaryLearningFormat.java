package io.sae4j.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.sae4j.sae.EncoderActivation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * saprmarks/dictionary_learning's trainer directory: {@code ae.pt} (torch.save of the
 * dictionary's state dict, read by {@link TorchZip}) and {@code config.json} ({"trainer":
 * {"dict_class", "activation_dim", "dict_size", "k", ...}}). Each dict_class is read with the
 * maths of its module's forward (DESIGN.md):
 * <ul>
 * <li>AutoEncoder: f = relu((x - bias) encoder.weight^T + encoder.bias), xhat = f decoder.weight^T + bias;
 * <li>AutoEncoderNew: no input bias (folded into b_enc), decoder.bias;
 * <li>AutoEncoderTopK: TopK_k of that relu (k from the state dict, or config.json in old files);
 * <li>BatchTopKSAE, MatryoshkaBatchTopKSAE: relu then the learned threshold (their default encode);
 * <li>JumpReluAutoEncoder: relu(h) [h > threshold] with h = x W_enc + b_enc (no b_dec on the input);
 * <li>GatedAutoEncoder: read for its directions, not run forward.
 * </ul>
 * The files' own latents are kept: dictionary_learning's load_dictionary rescales an AutoEncoder's
 * latents by its decoder column norms, which changes no cosine, correlation, L0 or FVU.
 */
public final class DictionaryLearningFormat {
    public static final String WEIGHTS = "ae.pt";
    public static final String CONFIG = "config.json";

    private DictionaryLearningFormat() {}

    public static boolean detect(Path dir) {
        return Files.isRegularFile(dir.resolve(WEIGHTS));
    }

    /** dir holds ae.pt and config.json; or the path is an .pt file with config.json beside it. */
    public static SaeFile read(Path path) throws IOException {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path weights = Files.isDirectory(path) ? path.resolve(WEIGHTS) : path, cfgPath = dir.resolve(CONFIG);
        if (!Files.isRegularFile(weights)) throw new NoSuchFileException(weights.toString(), null, "missing " + WEIGHTS);
        if (!Files.isRegularFile(cfgPath))
            throw new NoSuchFileException(cfgPath.toString(), null, "missing " + CONFIG + " beside " + weights.getFileName()
                    + " (it names the dictionary's class)");
        JsonObject cfg = SaeLensFormat.jsonObject(cfgPath);
        JsonElement tr = cfg.get("trainer");
        if (tr == null || !tr.isJsonObject()) throw new FormatException(cfgPath, "no 'trainer' object (dictionary_learning writes {\"trainer\": {...}})");
        JsonObject trainer = tr.getAsJsonObject();
        JsonElement dc = trainer.get("dict_class");
        if (dc == null || !dc.isJsonPrimitive() || !dc.getAsJsonPrimitive().isString())
            throw new FormatException(cfgPath, "trainer.dict_class should name the dictionary's class, got " + dc);
        String dictClass = dc.getAsString();
        int d = SaeLensFormat.positiveInt(trainer, "activation_dim", cfgPath), m = SaeLensFormat.positiveInt(trainer, "dict_size", cfgPath);

        Map<String, Object> sd = TorchZip.read(weights);
        if (sd.containsKey("ae") && sd.containsKey("optimizer"))
            throw new FormatException(weights, "a training backup ({step, ae, optimizer, ...}), not a finished ae.pt");
        Tensors t = new Tensors(sd, weights);
        List<String> notes = new ArrayList<>(), refusals = new ArrayList<>();
        float[] wEnc, bEnc, wDec, bDec;
        EncoderActivation act = EncoderActivation.RELU;
        switch (dictClass) {
            case "AutoEncoder", "AutoEncoderTopK", "BatchTopKSAE" -> {
                boolean plain = dictClass.equals("AutoEncoder");
                t.expect(plain ? Set.of("bias", "encoder.weight", "encoder.bias", "decoder.weight")
                        : Set.of("b_dec", "encoder.weight", "encoder.bias", "decoder.weight"), Set.of("k", "threshold"));
                wEnc = ForeignWeights.transpose(t.get("encoder.weight", m, d), m, d);
                bEnc = t.get("encoder.bias", m);
                wDec = ForeignWeights.transpose(t.get("decoder.weight", d, m), d, m);
                bDec = t.get(plain ? "bias" : "b_dec", d);
                if (dictClass.equals("AutoEncoderTopK")) act = EncoderActivation.topK(topK(t, trainer, cfgPath, m));
                if (dictClass.equals("BatchTopKSAE")) act = threshold(t, m, refusals);
                if (plain) notes.add("AutoEncoder latents as its forward computes them (load_dictionary would scale them by"
                        + " the decoder column norms)");
            }
            case "MatryoshkaBatchTopKSAE" -> {
                t.expect(Set.of("W_enc", "b_enc", "W_dec", "b_dec"), Set.of("k", "threshold", "group_sizes"));
                wEnc = t.get("W_enc", d, m);
                bEnc = t.get("b_enc", m);
                wDec = t.get("W_dec", m, d);
                bDec = t.get("b_dec", d);
                act = threshold(t, m, refusals);
            }
            case "JumpReluAutoEncoder" -> {
                t.expect(Set.of("W_enc", "b_enc", "W_dec", "b_dec", "threshold"), Set.of());
                wEnc = t.get("W_enc", d, m);
                wDec = t.get("W_dec", m, d);
                bDec = t.get("b_dec", d);
                bEnc = ForeignWeights.foldInputBias(t.get("b_enc", m), bDec, wEnc, d, m);
                act = EncoderActivation.jumpRelu(t.get("threshold", m));
                notes.add("JumpReluAutoEncoder takes x without b_dec: b_dec W_enc folded into b_enc");
            }
            case "AutoEncoderNew" -> {
                t.expect(Set.of("encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"), Set.of());
                wEnc = ForeignWeights.transpose(t.get("encoder.weight", m, d), m, d);
                wDec = ForeignWeights.transpose(t.get("decoder.weight", d, m), d, m);
                bDec = t.get("decoder.bias", d);
                bEnc = ForeignWeights.foldInputBias(t.get("encoder.bias", m), bDec, wEnc, d, m);
                notes.add("AutoEncoderNew takes x without a bias: decoder.bias W_enc folded into b_enc");
            }
            case "GatedAutoEncoder" -> {
                t.expect(Set.of("decoder_bias", "encoder.weight", "r_mag", "gate_bias", "mag_bias", "decoder.weight"), Set.of());
                wEnc = ForeignWeights.transpose(t.get("encoder.weight", m, d), m, d);
                wDec = ForeignWeights.transpose(t.get("decoder.weight", d, m), d, m);
                bDec = t.get("decoder_bias", d);
                for (String n : List.of("r_mag", "gate_bias", "mag_bias")) t.get(n, m);
                bEnc = null;
                refusals.add("a GatedAutoEncoder (two encoder paths) does not run forward in sae4j");
            }
            default -> throw new FormatException(cfgPath, "dict_class '" + dictClass + "' is not one sae4j reads (AutoEncoder,"
                    + " AutoEncoderNew, AutoEncoderTopK, BatchTopKSAE, MatryoshkaBatchTopKSAE, JumpReluAutoEncoder,"
                    + " GatedAutoEncoder)");
        }
        String refusal = refusals.isEmpty() ? null : String.join("; ", refusals);
        return new SaeFile(weights, "dictionary_learning " + dictClass, cfg, dictClass, d, m, refusal == null ? act : null,
                wEnc, bEnc, wDec, bDec, refusal, List.copyOf(notes));
    }

    private static int topK(Tensors t, JsonObject trainer, Path cfgPath, int m) throws FormatException {
        int k;
        if (t.has("k")) {
            double v = t.scalar("k");
            if (v != Math.rint(v) || v < 1 || v > m) throw new FormatException(t.file, "buffer k = " + v + " is not in 1.." + m);
            k = (int) v;
        } else {
            k = SaeLensFormat.positiveInt(trainer, "k", cfgPath);
            if (k > m) throw new FormatException(cfgPath, "trainer.k = " + k + " exceeds dict_size = " + m);
        }
        return k;
    }

    /** relu(pre) kept where above the learned scalar threshold (-1 before any update: plain ReLU). */
    private static EncoderActivation threshold(Tensors t, int m, List<String> refusals) throws FormatException {
        if (!t.has("threshold")) {
            refusals.add("no threshold buffer (files of 2024-10..12): the inference rule is unknown");
            return null;
        }
        float[] th = new float[m];
        Arrays.fill(th, (float) t.scalar("threshold"));
        return EncoderActivation.jumpRelu(th);
    }

    /** The state dict's tensors, checked by name, shape and finiteness. */
    private record Tensors(Map<String, Object> sd, Path file) {
        void expect(Set<String> required, Set<String> optional) throws FormatException {
            Set<String> unknown = new TreeSet<>(sd.keySet());
            unknown.removeAll(required);
            unknown.removeAll(optional);
            if (!unknown.isEmpty())
                throw new FormatException(file, "entries " + unknown + " are not part of this dictionary (expected "
                        + new TreeSet<>(required) + (optional.isEmpty() ? "" : " and optionally " + new TreeSet<>(optional)) + ")");
        }

        boolean has(String name) {
            return sd.containsKey(name);
        }

        TorchZip.Tensor tensor(String name) throws FormatException {
            Object v = sd.get(name);
            if (v == null) throw new FormatException(file, "missing tensor '" + name + "' (has " + new TreeSet<>(sd.keySet()) + ")");
            if (!(v instanceof TorchZip.Tensor t)) throw new FormatException(file, "'" + name + "' is not a tensor: " + v);
            return t;
        }

        float[] get(String name, long... shape) throws FormatException {
            TorchZip.Tensor t = tensor(name);
            if (!t.type().floating) throw new FormatException(file, "tensor '" + name + "' is " + t.describe() + ", not floating point");
            if (!Arrays.equals(t.shape(), shape))
                throw new FormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", config.json implies " + Arrays.toString(shape));
            return ForeignWeights.finite(t.floats(), name, file);
        }

        double scalar(String name) throws FormatException {
            TorchZip.Tensor t = tensor(name);
            if (t.values().length != 1 || !Double.isFinite(t.values()[0]))
                throw new FormatException(file, "'" + name + "' should be one finite number, got " + t.describe());
            return t.values()[0];
        }
    }
}
