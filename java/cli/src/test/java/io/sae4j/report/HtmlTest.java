package io.sae4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sae4j.report.StudyResults.Example;
import org.junit.jupiter.api.Test;

class HtmlTest {
    @Test
    void escapesEverythingThatMatters() {
        assertEquals("&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;", Html.esc("<a href=\"x\">Tom & Jerry's</a>"));
        assertEquals("", Html.esc(null));
        assertEquals("a b", Html.esc("a\u0001b"));
    }

    @Test
    void formatsFourSignificantDigits() {
        assertEquals("0.1235", Html.num(0.123456));
        assertEquals("612.3", Html.num(612.3));
        assertEquals("1536", Html.num(1536));
        assertEquals("-2.4", Html.num(-2.4));
        assertEquals("1.235e-5", Html.num(0.0000123456));
        assertEquals("n/a", Html.num(Double.NaN));
        assertEquals("0", Html.num(-0.0));
        assertEquals("1.5%", Html.pct(0.015));
    }

    @Test
    void marksTheActivatingToken() {
        assertEquals("the dog <mark>chased</mark> the &lt;cat&gt;", Html.context(new Example("the dog [chased] the <cat>", "chased", 1)));
        assertEquals("walk<mark>ing</mark> [x]", Html.context(new Example("walk[ing] [x]", "##ing", 1)));
        assertEquals("plain &amp; <mark>simple</mark>", Html.context(new Example("plain & simple", "simple", 1)));
        assertEquals("no token here", Html.context(new Example("no token here", "zzz", 1)));
        // As the harvest writes them: the text span in brackets, whose case may differ from the (uncased) token.
        assertEquals("\u2026of <mark>Chased</mark> dogs\u2026", Html.context(new Example("\u2026of [Chased] dogs\u2026", "chased", 1)));
        // A bracketed span that is not the token's text: the one nearest the middle is marked.
        assertEquals("[a] so <mark>caf\u00e9</mark> is [b]", Html.context(new Example("[a] so [caf\u00e9] is [b]", "cafe", 1)));
        assertEquals("plain <mark>WORD</mark> here", Html.context(new Example("plain WORD here", "word", 1)));
        assertEquals("", Html.context(new Example(null, null, Double.NaN)));
    }

    @Test
    void csvQuotesOnlyWhenNeeded() {
        assertEquals("plain", Csv.quote("plain"));
        assertEquals("\"a,b\"", Csv.quote("a,b"));
        assertEquals("\"say \"\"hi\"\"\"", Csv.quote("say \"hi\""));
        assertEquals("3", Csv.number(3.0));
        assertEquals("0.1", Csv.number(0.1));
        assertEquals("", Csv.number(Double.NaN));
    }
}
