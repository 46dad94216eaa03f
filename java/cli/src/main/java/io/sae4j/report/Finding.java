package io.sae4j.report;

/**
 * One of the seed study's observations checked against this run's numbers.
 *
 * @param claim        the observation, in words
 * @param holds        true when the numbers support it, false when they contradict it, null when
 *                     the results lack the data to tell
 * @param evidence     the numbers behind the verdict, in words
 * @param figureAnchor the HTML anchor (without '#') of the figure or table that shows it
 */
public record Finding(String claim, Boolean holds, String evidence, String figureAnchor) {}
