package io.sae4j.io;

import com.google.gson.JsonElement;
import java.math.BigDecimal;
import java.util.OptionalLong;

/** Numbers in the JSON files sae4j reads, taken exactly: Gson's getAsLong reads 2.5 as 2 and 1e400 as 0. */
public final class JsonNumbers {
    private JsonNumbers() {}

    /** The value when it is a JSON number with no fractional part that fits a long; empty otherwise. */
    public static OptionalLong wholeNumber(JsonElement e) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) return OptionalLong.empty();
        try {
            return OptionalLong.of(new BigDecimal(e.getAsString()).longValueExact());
        } catch (ArithmeticException | NumberFormatException ex) {
            return OptionalLong.empty();
        }
    }
}
