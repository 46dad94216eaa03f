package io.sae4j.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * XChart set up the one way every figure of the report uses: 900 x 560 px, white background,
 * readable fonts, a colour-blind-friendly palette (line style changes after ten series), and
 * PNG encoding. Runs headless.
 */
final class Charts {
    static final int WIDTH = 900, HEIGHT = 560;

    /** Tableau 10: distinct and colour-blind friendly. */
    static final Color[] PALETTE = {
        new Color(0x4E79A7), new Color(0xF28E2B), new Color(0xE15759), new Color(0x76B7B2), new Color(0x59A14F),
        new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7), new Color(0x9C755F), new Color(0xBAB0AC)};
    static final Color BASELINE_RANDOM = new Color(0x555555), BASELINE_LAYER = new Color(0x8C564B);

    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    static XYChart xy(String title, String xTitle, String yTitle, int nSeries) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        style(c.getStyler(), nSeries);
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        c.getStyler().setMarkerSize(7);
        c.getStyler().setYAxisDecimalPattern("0.###");
        c.getStyler().setXAxisDecimalPattern("0.###");
        return c;
    }

    static HeatMapChart heatMap(String title, String xTitle, String yTitle) {
        HeatMapChart c = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        style(c.getStyler(), 1);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setPlotGridLinesVisible(false);
        return c;
    }

    /** Colours series i from the palette; past the palette's end, the same colours dashed. */
    static void styleSeries(XYSeries s, int i, boolean markers) {
        s.setLineColor(PALETTE[i % PALETTE.length]);
        s.setMarkerColor(PALETTE[i % PALETTE.length]);
        s.setLineWidth(2.2f);
        if (i >= PALETTE.length) s.setLineStyle(SeriesLines.DASH_DOT);
        s.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }

    /** A dashed, marker-less line in a neutral colour, for baselines. */
    static void styleBaseline(XYSeries s, Color color) {
        s.setLineColor(color);
        s.setMarkerColor(color);
        s.setLineWidth(2f);
        s.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {8f, 6f}, 0f));
        s.setMarker(SeriesMarkers.NONE);
    }

    static byte[] png(Chart<?, ?> chart) throws IOException {
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }

    /**
     * Makes the x axis a ratio axis: values are log2(ratio), labelled "1:r" at whole powers of two,
     * spanning whole powers of two around xs (at least two octaves, so one point still gets ticks).
     */
    static void ratioAxis(XYChart c, List<Double> xs) {
        c.setCustomXAxisTickLabelsFormatter(Charts::log2RatioTick);
        if (xs.isEmpty()) return;
        double lo = Math.floor(min(xs)), hi = Math.ceil(max(xs));
        if (hi - lo < 2) { lo -= 1; hi += 1; }
        c.getStyler().setXAxisMin(lo).setXAxisMax(hi);
    }

    /** Tick label for an x axis that holds log2(ratio): "1:8" at integers, nothing between. */
    static String log2RatioTick(double x) {
        double r = Math.rint(x);
        return Math.abs(x - r) < 1e-9 ? "1:" + Html.num(Math.pow(2, r)) : "";
    }

    /** Tick label with an SI suffix: 409600 -> "410k", 1.6384e6 -> "1.64M". */
    static String si(double x) {
        double a = Math.abs(x);
        if (a >= 1e9) return Html.num(Math.round(x / 1e7) / 100.0) + "G";
        if (a >= 1e6) return Html.num(Math.round(x / 1e4) / 100.0) + "M";
        if (a >= 1e3) return Html.num(Math.round(x / 1e1) / 100.0) + "k";
        return Html.num(x);
    }

    /** Tick label for an axis that holds log10(y): 10^y to two significant digits. */
    static String pow10Tick(double x) {
        double v = Math.pow(10, x);
        return Html.num(new java.math.BigDecimal(v).round(new java.math.MathContext(2)).doubleValue());
    }

    /** The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 9, 10 times a power of ten that is at least x (x > 0). */
    static double niceCeil(double x) {
        double m = Math.pow(10, Math.floor(Math.log10(x)));
        for (double f : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 9, 10}) if (f * m >= x * (1 - 1e-12)) return f * m;
        return 10 * m;
    }

    static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    static double min(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    static double max(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    private static void style(AxesChartStyler st, int nSeries) {
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setPlotBorderVisible(true);
        st.setPlotBorderColor(new Color(0x9AA5B1));
        st.setPlotGridLinesColor(new Color(0xE3E7EC));
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 19));
        st.setChartTitleBoxVisible(false);
        st.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        st.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, nSeries > 8 ? 11 : 13));
        st.setLegendBorderColor(new Color(0xC9D1DA));
        if (!(st instanceof HeatMapStyler)) // which accepts only outside positions
            st.setLegendPosition(nSeries > 5 ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.InsideNE);
        st.setSeriesColors(PALETTE);
        st.setChartPadding(12);
        st.setAntiAlias(true);
    }
}
