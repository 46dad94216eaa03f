package io.sae4j.harvest;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Edits an ONNX model so that intermediate tensors become graph outputs: ModelProto.graph (field 7)
 * gets one GraphProto.output (field 12) per name, a ValueInfoProto holding only its name (field 1),
 * which ONNX Runtime accepts. Parsed generically with protobuf-java's UnknownFieldSet, so no ONNX
 * .proto classes are needed; tensors that no node produces are refused with the closest names.
 */
final class OnnxGraph {
    private static final int MODEL_GRAPH = 7, GRAPH_NODE = 1, GRAPH_OUTPUT = 12, NODE_OUTPUT = 2, VALUE_INFO_NAME = 1;

    private OnnxGraph() {}

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
}
