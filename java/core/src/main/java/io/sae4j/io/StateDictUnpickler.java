package io.sae4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pickle of a PyTorch state dict (protocol 2, as torch.save writes it), read without Python:
 * a stack machine that knows only the opcodes a state dict uses and only the globals it names
 * (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and the typed
 * storages); anything else, a class to build or a function to call, is refused with the opcode
 * or name and its offset. Values come out as {@link Map} (dicts, OrderedDicts), {@link List}
 * (tuples, lists), String, Long, Double, Boolean, null, and {@link TensorRef} for tensors, whose
 * bytes {@link TorchZip} fetches from the archive.
 */
final class StateDictUnpickler {
    /** A storage named by a persistent id: its element type, its archive key and element count. */
    record StorageRef(TorchZip.ElementType type, String key, long numel) {}

    /** A tensor view: storage, offset, size and stride in elements. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    private enum Global { ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER }

    private static final Object MARK = new Object();

    private final byte[] code;
    private final Path file;
    private final String member;
    private int pos;
    private final Deque<Object> stack = new ArrayDeque<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private StateDictUnpickler(byte[] code, Path file, String member) {
        this.code = code;
        this.file = file;
        this.member = member;
    }

    /** The object the pickle in {@code code} (member {@code member} of {@code file}) builds. */
    static Object load(byte[] code, Path file, String member) throws FormatException {
        try {
            return new StateDictUnpickler(code, file, member).run();
        } catch (IndexOutOfBoundsException | java.util.NoSuchElementException | ClassCastException e) {
            throw new FormatException(file, member + ": not a well-formed pickle (" + e.getClass().getSimpleName() + ")");
        }
    }

    private FormatException bad(int at, String what) {
        return new FormatException(file, member + " at byte " + at + ": " + what
                + " (sae4j reads state dicts of tensors and refuses anything else a pickle can do)");
    }

    /** The top of the stack, which must be a value (a MARK is not one). */
    private Object pop(int at) throws FormatException {
        Object v = stack.pop();
        if (v == MARK) throw bad(at, "a MARK where a value belongs");
        return v;
    }

    private Object peekValue(int at) throws FormatException {
        Object v = stack.peek();
        if (v == MARK || v == null) throw bad(at, "a MARK where a value belongs");
        return v;
    }

    /** Dict keys are strings in a state dict (and hashing anything else could recurse forever). */
    private Object key(int at, Object k) throws FormatException {
        if (!(k instanceof String)) throw bad(at, "a dict key that is not a string");
        return k;
    }

    private Object run() throws FormatException {
        while (true) {
            int at = pos, op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > 2) throw bad(at, "pickle protocol " + v + " (torch.save writes protocol 2)");
                }
                case 0x2e -> { // STOP
                    if (stack.size() != 1) throw bad(at, "STOP with " + stack.size() + " objects on the stack");
                    return pop(at);
                }
                case 0x63 -> stack.push(global(at, line(), line())); // GLOBAL
                case 0x71 -> memo.put((long) u8(), peekValue(at)); // BINPUT
                case 0x72 -> memo.put(u32(), peekValue(at)); // LONG_BINPUT
                case 0x68 -> stack.push(memoGet(at, u8())); // BINGET
                case 0x6a -> stack.push(memoGet(at, u32())); // LONG_BINGET
                case 0x29 -> stack.push(List.of()); // EMPTY_TUPLE
                case 0x7d -> stack.push(new LinkedHashMap<>()); // EMPTY_DICT
                case 0x5d -> stack.push(new ArrayList<>()); // EMPTY_LIST
                case 0x28 -> { // MARK
                    marks.push(stack.size());
                    stack.push(MARK);
                }
                case 0x74 -> stack.push(List.copyOf(popMark(at))); // TUPLE
                case 0x85 -> stack.push(tupleOf(1)); // TUPLE1 (List.of refuses nulls: NONE is Null.NULL)
                case 0x86 -> stack.push(tupleOf(2)); // TUPLE2
                case 0x87 -> stack.push(tupleOf(3)); // TUPLE3
                case 0x58 -> stack.push(utf8(at, (int) Math.min(u32(), Integer.MAX_VALUE))); // BINUNICODE
                case 0x4b -> stack.push((long) u8()); // BININT1
                case 0x4d -> stack.push((long) (u8() | u8() << 8)); // BININT2
                case 0x4a -> stack.push((long) (int) u32()); // BININT
                case 0x8a -> stack.push(long1(at)); // LONG1
                case 0x4e -> stack.push(Null.NULL); // NONE
                case 0x88 -> stack.push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> stack.push(Boolean.FALSE); // NEWFALSE
                case 0x47 -> stack.push(ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
                case 0x51 -> stack.push(persistent(at, pop(at))); // BINPERSID
                case 0x52 -> { // REDUCE
                    Object args = pop(at), callable = pop(at);
                    stack.push(reduce(at, callable, args));
                }
                case 0x73 -> { // SETITEM
                    Object value = pop(at), key = key(at, pop(at));
                    dict(at, peekValue(at)).put(key, value);
                }
                case 0x75 -> { // SETITEMS
                    List<Object> items = popMark(at);
                    Map<Object, Object> d = dict(at, peekValue(at));
                    if (items.size() % 2 != 0) throw bad(at, "SETITEMS with an odd number of items");
                    for (int i = 0; i < items.size(); i += 2) d.put(key(at, items.get(i)), items.get(i + 1));
                }
                case 0x61 -> { // APPEND
                    Object value = pop(at);
                    list(at, peekValue(at)).add(value);
                }
                case 0x65 -> { // APPENDS
                    List<Object> items = popMark(at);
                    list(at, peekValue(at)).addAll(items);
                }
                case 0x62 -> { // BUILD: a Module state dict's _metadata (per-module versions); nothing of the maths
                    Object state = pop(at);
                    if (!(stack.peek() instanceof Map) || !(state instanceof Map<?, ?> s) || !s.keySet().equals(Set.of("_metadata")))
                        throw bad(at, "BUILD of anything but an OrderedDict's _metadata");
                }
                default -> throw bad(at, String.format("opcode 0x%02x", op));
            }
        }
    }

    /** null on the stack (ArrayDeque takes no nulls); turned back into null in what the caller sees. */
    enum Null { NULL }

    private Object global(int at, String module, String name) throws FormatException {
        String full = module + "." + name;
        switch (full) {
            case "collections.OrderedDict": return Global.ORDERED_DICT;
            case "torch._utils._rebuild_tensor_v2": return Global.REBUILD_TENSOR;
            case "torch._utils._rebuild_parameter": return Global.REBUILD_PARAMETER;
            default:
                if (module.equals("torch") && name.endsWith("Storage")) {
                    TorchZip.ElementType t = TorchZip.ElementType.named(name);
                    if (t == null) throw bad(at, "storage type torch." + name + " (floating and integer storages only)");
                    return t;
                }
                throw bad(at, "global " + full);
        }
    }

    private Object reduce(int at, Object callable, Object args) throws FormatException {
        List<?> a = tuple(at, args);
        if (callable == Global.ORDERED_DICT && a.isEmpty()) return new LinkedHashMap<>();
        if (callable == Global.REBUILD_PARAMETER && a.size() == 3 && a.get(0) instanceof TensorRef t) return t;
        if (callable == Global.REBUILD_TENSOR && (a.size() == 6 || a.size() == 7) && a.get(0) instanceof StorageRef s) {
            if (a.size() == 7 && !(a.get(6) instanceof Map<?, ?> meta && meta.isEmpty()))
                throw bad(at, "a tensor with metadata (e.g. a quantised or subclass tensor)");
            long[] size = longs(at, a.get(2)), stride = longs(at, a.get(3));
            if (size.length != stride.length) throw bad(at, "tensor size and stride of different lengths");
            return new TensorRef(s, integer(at, a.get(1)), size, stride);
        }
        throw bad(at, "call of " + callable + " with " + a.size() + " arguments");
    }

    private StorageRef persistent(int at, Object pid) throws FormatException {
        List<?> p = tuple(at, pid);
        if (p.size() != 5 || !"storage".equals(p.get(0)) || !(p.get(1) instanceof TorchZip.ElementType type)
                || !(p.get(2) instanceof String key))
            throw bad(at, "persistent id " + p + " (expected ('storage', type, key, location, numel))");
        return new StorageRef(type, key, integer(at, p.get(4)));
    }

    private List<Object> popMark(int at) throws FormatException {
        if (marks.isEmpty()) throw bad(at, "no MARK");
        int base = marks.pop();
        if (stack.size() <= base) throw bad(at, "a MARK that was taken off the stack");
        List<Object> items = new ArrayList<>();
        while (stack.size() > base + 1) items.add(0, pop(at));
        if (stack.pop() != MARK) throw bad(at, "a MARK that was taken off the stack");
        return items;
    }

    private List<Object> tupleOf(int n) throws FormatException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop(pos - 1);
        return List.of(items);
    }

    private Object memoGet(int at, long index) throws FormatException {
        Object v = memo.get(index);
        if (v == null) throw bad(at, "memo entry " + index + " read before it was written");
        return v;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(int at, Object o) throws FormatException {
        if (!(o instanceof Map)) throw bad(at, "items set on a " + (o == null ? "null" : o.getClass().getSimpleName()));
        return (Map<Object, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(int at, Object o) throws FormatException {
        if (!(o instanceof ArrayList)) throw bad(at, "items appended to a " + (o == null ? "null" : o.getClass().getSimpleName()));
        return (List<Object>) o;
    }

    private List<?> tuple(int at, Object o) throws FormatException {
        if (!(o instanceof List<?> l)) throw bad(at, "expected a tuple, got " + (o == null ? "null" : o.getClass().getSimpleName()));
        return l;
    }

    private long integer(int at, Object o) throws FormatException {
        if (!(o instanceof Long l)) throw bad(at, "expected an integer, got " + o);
        return l;
    }

    private long[] longs(int at, Object o) throws FormatException {
        List<?> l = tuple(at, o);
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = integer(at, l.get(i));
        return out;
    }

    private long long1(int at) throws FormatException {
        int n = u8();
        if (n > 8) throw bad(at, "an integer of " + n + " bytes");
        byte[] b = bytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = v << 8 | (b[i] & 0xff);
        if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n); // two's complement
        return v;
    }

    private String utf8(int at, int n) throws FormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes(n))).toString();
        } catch (CharacterCodingException e) {
            throw bad(at, "a string that is not UTF-8");
        }
    }

    private String line() {
        int start = pos;
        while (code[pos] != '\n') pos++;
        String s = new String(code, start, pos - start, StandardCharsets.US_ASCII);
        pos++;
        return s;
    }

    private int u8() {
        return code[pos++] & 0xff;
    }

    private long u32() {
        long v = (code[pos] & 0xffL) | (code[pos + 1] & 0xffL) << 8 | (code[pos + 2] & 0xffL) << 16 | (code[pos + 3] & 0xffL) << 24;
        pos += 4;
        return v;
    }

    private byte[] bytes(int n) {
        if (n < 0 || n > code.length - pos) throw new IndexOutOfBoundsException(); // (pos + n may overflow)
        byte[] b = java.util.Arrays.copyOfRange(code, pos, pos + n);
        pos += n;
        return b;
    }
}
