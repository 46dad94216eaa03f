package io.sae4j.harvest;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Edits an ONNX model so that intermediate tensors become graph outputs: ModelProto.graph (field 7)
 * gets one GraphProto.output (field 12) per name, a ValueInfoProto holding only its name (field 1),
 * which ONNX Runtime accepts. Parsed generically with protobuf-java's UnknownFieldSet, so no ONNX
 * .proto classes are needed; tensors that no node produces are refused with the closest names.
 * {@link #read} gives what a user's model is checked against before it runs.
 */
final class OnnxGraph {
    private static final int MODEL_GRAPH = 7, GRAPH_NODE = 1, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
            NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_OP_TYPE = 4, VALUE_INFO_NAME = 1,
            TENSOR_DIMS = 1, TENSOR_NAME = 8, TENSOR_DATA_LOCATION = 14, DATA_LOCATION_EXTERNAL = 1;

    private OnnxGraph() {}

    /**
     * What sae4j needs to know of a graph: its inputs (initializers left out), every tensor a node
     * produces and the graph outputs (graph order), the rows of the word-embedding table (-1 when not
     * found), and whether weights live in external data files.
     */
    record Info(List<String> inputs, Set<String> produced, Set<String> outputs, long embeddingRows, boolean externalData) {
        boolean has(String tensor) {
            return produced.contains(tensor) || outputs.contains(tensor);
        }
    }

    /** Reads a model's graph; an IllegalArgumentException naming {@code what} when it is not an ONNX model. */
    static Info read(byte[] model, String what) {
        try {
            UnknownFieldSet graph = graph(model, what);
            Set<String> produced = new LinkedHashSet<>(), outputs = new LinkedHashSet<>(), initializers = new HashSet<>();
            List<Node> nodes = new ArrayList<>();
            for (ByteString n : graph.getField(GRAPH_NODE).getLengthDelimitedList()) {
                UnknownFieldSet node = UnknownFieldSet.parseFrom(n);
                Node x = new Node(strings(node, NODE_OP_TYPE).stream().findFirst().orElse(""), strings(node, NODE_INPUT),
                        strings(node, NODE_OUTPUT));
                nodes.add(x);
                produced.addAll(x.outputs());
            }
            for (ByteString o : graph.getField(GRAPH_OUTPUT).getLengthDelimitedList())
                outputs.addAll(strings(UnknownFieldSet.parseFrom(o), VALUE_INFO_NAME));
            Map<String, long[]> dims = new HashMap<>();
            boolean external = false;
            for (ByteString t : graph.getField(GRAPH_INITIALIZER).getLengthDelimitedList()) {
                Tensor x = tensorHeader(t);
                initializers.add(x.name());
                dims.put(x.name(), x.dims());
                external |= x.external();
            }
            List<String> inputs = new ArrayList<>();
            for (ByteString i : graph.getField(GRAPH_INPUT).getLengthDelimitedList())
                for (String name : strings(UnknownFieldSet.parseFrom(i), VALUE_INFO_NAME))
                    if (!initializers.contains(name)) inputs.add(name);
            if (nodes.isEmpty()) throw new IllegalArgumentException(what + ": not an ONNX model (its graph has no nodes)");
            return new Info(List.copyOf(inputs), produced, outputs, embeddingRows(nodes, dims), external);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": not an ONNX model (not readable as an ONNX protobuf file)", e);
        }
    }

    private record Node(String op, List<String> inputs, List<String> outputs) {}

    private record Tensor(String name, long[] dims, boolean external) {}

    /**
     * Rows of the table the Gather on input_ids indexes (possibly through a Cast of input_ids, its
     * table through a DequantizeLinear, Cast or Identity of an initializer); -1 when there is none.
     */
    private static long embeddingRows(List<Node> nodes, Map<String, long[]> initializerDims) {
        Set<String> ids = new HashSet<>(List.of("input_ids"));
        Map<String, Node> producer = new HashMap<>();
        for (Node n : nodes) {
            for (String o : n.outputs()) producer.put(o, n);
            if (n.op().equals("Cast") && !n.inputs().isEmpty() && ids.contains(n.inputs().get(0))) ids.addAll(n.outputs());
        }
        for (Node n : nodes) {
            if (!n.op().equals("Gather") || n.inputs().size() < 2 || !ids.contains(n.inputs().get(1))) continue;
            String table = n.inputs().get(0);
            for (int hop = 0; hop < 3 && !initializerDims.containsKey(table); hop++) {
                Node p = producer.get(table);
                if (p == null || p.inputs().isEmpty() || !Set.of("DequantizeLinear", "Cast", "Identity").contains(p.op())) break;
                table = p.inputs().get(0);
            }
            long[] d = initializerDims.get(table);
            if (d != null && d.length == 2) return d[0];
        }
        return -1;
    }

    /** A TensorProto's name, dims and data location, read without copying its (possibly large) data. */
    private static Tensor tensorHeader(ByteString bytes) throws IOException {
        CodedInputStream in = bytes.newCodedInput();
        String name = "";
        List<Long> dims = new ArrayList<>();
        boolean external = false;
        for (int tag; (tag = in.readTag()) != 0; ) {
            int field = WireFormat.getTagFieldNumber(tag), type = WireFormat.getTagWireType(tag);
            if (field == TENSOR_DIMS && type == WireFormat.WIRETYPE_VARINT) dims.add(in.readInt64());
            else if (field == TENSOR_DIMS && type == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int limit = in.pushLimit(in.readRawVarint32());
                while (in.getBytesUntilLimit() > 0) dims.add(in.readInt64());
                in.popLimit(limit);
            } else if (field == TENSOR_NAME && type == WireFormat.WIRETYPE_LENGTH_DELIMITED) name = in.readStringRequireUtf8();
            else if (field == TENSOR_DATA_LOCATION && type == WireFormat.WIRETYPE_VARINT)
                external = in.readEnum() == DATA_LOCATION_EXTERNAL;
            else if (!in.skipField(tag)) break;
        }
        return new Tensor(name, dims.stream().mapToLong(Long::longValue).toArray(), external);
    }

    private static UnknownFieldSet graph(byte[] model, String what) throws InvalidProtocolBufferException {
        UnknownFieldSet m = UnknownFieldSet.parseFrom(model);
        UnknownFieldSet.Field graphField = m.getField(MODEL_GRAPH);
        if (graphField.getLengthDelimitedList().size() != 1)
            throw new IllegalArgumentException(what + ": not an ONNX model (no graph)");
        return UnknownFieldSet.parseFrom(graphField.getLengthDelimitedList().get(0));
    }

    private static List<String> strings(UnknownFieldSet s, int field) {
        List<String> out = new ArrayList<>();
        for (ByteString b : s.getField(field).getLengthDelimitedList()) out.add(b.toStringUtf8());
        return out;
    }

    static byte[] exposeOutputs(byte[] model, List<String> names, String what) {
        try {
            UnknownFieldSet m = UnknownFieldSet.parseFrom(model);
            UnknownFieldSet.Field graphField = m.getField(MODEL_GRAPH);
            if (graphField.getLengthDelimitedList().size() != 1)
                throw new IllegalArgumentException(what + ": not an ONNX model (no graph)");
            UnknownFieldSet graph = UnknownFieldSet.parseFrom(graphField.getLengthDelimitedList().get(0));
            Set<String> produced = new LinkedHashSet<>(), outputs = new LinkedHashSet<>();
            for (ByteString node : graph.getField(GRAPH_NODE).getLengthDelimitedList())
                for (ByteString o : UnknownFieldSet.parseFrom(node).getField(NODE_OUTPUT).getLengthDelimitedList())
                    produced.add(o.toStringUtf8());
            for (ByteString o : graph.getField(GRAPH_OUTPUT).getLengthDelimitedList())
                outputs.add(UnknownFieldSet.parseFrom(o).getField(VALUE_INFO_NAME).getLengthDelimitedList().get(0).toStringUtf8());
            UnknownFieldSet.Field.Builder out = UnknownFieldSet.Field.newBuilder(graph.getField(GRAPH_OUTPUT));
            for (String name : names) {
                if (outputs.contains(name)) continue; // already an output (e.g. last_hidden_state)
                if (!produced.contains(name))
                    throw new IllegalArgumentException(what + " has no tensor '" + name + "'; similar: " + similar(produced, name));
                UnknownFieldSet info = UnknownFieldSet.newBuilder()
                        .addField(VALUE_INFO_NAME, UnknownFieldSet.Field.newBuilder()
                                .addLengthDelimited(ByteString.copyFromUtf8(name)).build())
                        .build();
                out.addLengthDelimited(info.toByteString());
                outputs.add(name);
            }
            UnknownFieldSet newGraph = UnknownFieldSet.newBuilder(graph).clearField(GRAPH_OUTPUT)
                    .addField(GRAPH_OUTPUT, out.build()).build();
            return UnknownFieldSet.newBuilder(m).clearField(MODEL_GRAPH)
                    .addField(MODEL_GRAPH, UnknownFieldSet.Field.newBuilder().addLengthDelimited(newGraph.toByteString()).build())
                    .build().toByteArray();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(what + ": not a readable ONNX model: " + e.getMessage(), e);
        }
    }

    private static List<String> similar(Set<String> names, String wanted) {
        String stem = wanted.contains("/") ? wanted.substring(0, wanted.lastIndexOf('/') + 1) : wanted;
        List<String> out = new ArrayList<>();
        for (String n : names)
            if (n.startsWith(stem) && out.size() < 8) out.add(n);
        return out;
    }

    /**
     * Up to 8 names closest to {@code wanted} (a name or a pattern): the longest run of characters
     * shared with it first, then the shorter name, then graph order. For hints in messages.
     */
    static List<String> closest(Set<String> names, String wanted) {
        List<String> all = new ArrayList<>(names);
        Map<String, Integer> score = new HashMap<>();
        for (String n : all) score.put(n, longestCommonRun(n, wanted));
        all.sort(Comparator.comparingInt((String n) -> -score.get(n)).thenComparingInt(String::length)); // stable among equals
        return all.subList(0, Math.min(8, all.size()));
    }

    private static int longestCommonRun(String a, String b) {
        int best = 0;
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = a.charAt(i - 1) == b.charAt(j - 1) ? prev[j - 1] + 1 : 0;
                best = Math.max(best, cur[j]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return best;
    }
}
