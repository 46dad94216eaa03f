package io.sae4j.io;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parser for the subset of Python literal syntax found in .npy headers (what numpy writes with
 * {@code repr} and reads with {@code ast.literal_eval}): dicts, tuples, lists, quoted strings,
 * integers (an old {@code L} suffix allowed), True, False and None. Dicts become {@link
 * LinkedHashMap}, tuples and lists {@link List}, integers {@link BigInteger}, None {@code null}.
 * Errors are {@link IllegalArgumentException}s giving the character offset.
 */
final class PyLiteral {
    private final String s;
    private int i;

    private PyLiteral(String s) {
        this.s = s;
    }

    static Object parse(String text) {
        PyLiteral p = new PyLiteral(text);
        Object v = p.value();
        p.skipSpace();
        if (p.i < text.length())
            throw p.error("unexpected text after the value");
        return v;
    }

    private Object value() {
        skipSpace();
        if (i >= s.length())
            throw error("unexpected end of text");
        char c = s.charAt(i);
        if (c == '{')
            return dict();
        if (c == '(' || c == '[')
            return sequence(c == '(' ? ')' : ']');
        if (c == '\'' || c == '"')
            return string(c);
        if (c == '-' || c == '+' || (c >= '0' && c <= '9'))
            return integer();
        for (String word : new String[] {"True", "False", "None"}) {
            if (s.startsWith(word, i)) {
                i += word.length();
                return word.equals("None") ? null : Boolean.valueOf(word.equals("True"));
            }
        }
        throw error("unexpected character '" + c + "'");
    }

    private Map<Object, Object> dict() {
        i++; // '{'
        Map<Object, Object> map = new LinkedHashMap<>();
        while (!closes('}')) { // each entry, then '}' or ',' (a trailing comma is allowed)
            Object key = value();
            expect(':');
            map.put(key, value());
            if (closes('}'))
                break;
            expect(',');
        }
        return map;
    }

    /** A tuple or list; like Python, {@code (x)} without a comma is just {@code x}. */
    private Object sequence(char close) {
        i++; // '(' or '['
        List<Object> items = new ArrayList<>();
        boolean comma = false;
        while (!closes(close)) { // each item, then the close or ',' (trailing comma allowed)
            items.add(value());
            if (closes(close))
                break;
            expect(',');
            comma = true;
        }
        return close == ')' && items.size() == 1 && !comma ? items.get(0) : items;
    }

    private String string(char quote) {
        StringBuilder sb = new StringBuilder();
        for (i++; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote) {
                i++;
                return sb.toString();
            }
            if (c == '\\' && i + 1 < s.length())
                c = s.charAt(++i);
            sb.append(c);
        }
        throw error("unterminated string");
    }

    private BigInteger integer() {
        int start = i;
        if (s.charAt(i) == '-' || s.charAt(i) == '+')
            i++;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9')
            i++;
        if (i == start + 1 && !Character.isDigit(s.charAt(start)))
            throw error("sign without digits");
        BigInteger v = new BigInteger(s.substring(start, i));
        if (i < s.length() && (s.charAt(i) == 'L' || s.charAt(i) == 'l'))
            i++; // Python 2 long
        if (i < s.length() && (s.charAt(i) == '.' || s.charAt(i) == 'e' || s.charAt(i) == 'E'))
            throw error("only integers are supported");
        return v;
    }

    /** Skips space; consumes {@code close} and returns true if it is next. */
    private boolean closes(char close) {
        skipSpace();
        if (i >= s.length())
            throw error("missing '" + close + "'");
        if (s.charAt(i) != close)
            return false;
        i++;
        return true;
    }

    private void expect(char c) {
        skipSpace();
        if (i >= s.length() || s.charAt(i) != c)
            throw error("expected '" + c + "'");
        i++;
    }

    private void skipSpace() {
        while (i < s.length() && Character.isWhitespace(s.charAt(i)))
            i++;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at character " + i);
    }
}
