package io.sae4j.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.util.ArrayList;
import java.util.List;

/**
 * Defensive reads from the study's results JSON: a missing key, a JSON null, a value of the wrong
 * type or a number written as a string ("NaN", "1.5") never throws; numbers come back as NaN,
 * strings as null, arrays and objects as empty lists or null.
 */
final class Json {
    private Json() {}

    /** The number at key, or NaN when it is absent, null, not numeric or not finite-parsable. */
    static double num(JsonObject o, String key) {
        return o == null ? Double.NaN : num(o.get(key));
    }

    static double num(JsonElement e) {
        if (e == null || !e.isJsonPrimitive()) return Double.NaN;
        JsonPrimitive p = e.getAsJsonPrimitive();
        try {
            if (p.isNumber()) return p.getAsDouble();
            if (p.isString()) return Double.parseDouble(p.getAsString().trim());
        } catch (NumberFormatException ex) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /** The value at key as text (numbers and booleans as written), or null. */
    static String str(JsonObject o, String key) {
        if (o == null) return null;
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) return null;
        if (e.isJsonPrimitive()) return e.getAsString();
        return e.toString();
    }

    static JsonObject obj(JsonObject o, String key) {
        if (o == null) return null;
        JsonElement e = o.get(key);
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : null;
    }

    /** The objects of the array at key; elements that are not objects are skipped. */
    static List<JsonObject> objects(JsonObject o, String key) {
        List<JsonObject> out = new ArrayList<>();
        JsonElement e = o == null ? null : o.get(key);
        if (e == null || !e.isJsonArray()) return out;
        for (JsonElement x : e.getAsJsonArray()) if (x != null && x.isJsonObject()) out.add(x.getAsJsonObject());
        return out;
    }

    /** The array at key as numbers (NaN for nulls and non-numbers); empty when absent. */
    static double[] nums(JsonObject o, String key) {
        JsonElement e = o == null ? null : o.get(key);
        if (e == null || !e.isJsonArray()) return new double[0];
        JsonArray a = e.getAsJsonArray();
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = num(a.get(i));
        return out;
    }

    /** Whether key is present with a non-null value. */
    static boolean has(JsonObject o, String key) {
        return o != null && o.has(key) && !o.get(key).isJsonNull();
    }
}
