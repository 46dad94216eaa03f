package io.sae4j.cli;

import io.sae4j.io.FileErrors;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the sae4j command-line tool. Errors end in one line on stderr and exit status 1. */
@Command(name = "sae4j", mixinStandardHelpOptions = true, version = "sae4j 0.1.0",
        description = "Train sparse autoencoders on activations and measure whether their features agree.",
        subcommands = {SynthCommand.class, TrainCommand.class, CompareCommand.class, InfoCommand.class, HarvestCommand.class, StudyCommand.class,
                EnvCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line; returns the exit status (0 ok, 1 error, 2 usage). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (System.getenv("SAE4J_DEBUG") != null) ex.printStackTrace(err);
            err.println("sae4j " + cmd.getCommandName() + ": error: " + message(ex));
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) { // an Error: picocli's handler above sees only exceptions
            err.println("sae4j " + (args.length > 0 ? args[0] : "") + ": error: " + message(e));
            return 1;
        }
    }

    /** The version in the jar's manifest, or "dev" when run from classes. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /** Longest error line printed; longer messages (a quoted corrupt header, say) are cut. */
    static final int MAX_MESSAGE = 400;

    static String message(Throwable t) {
        String m = t.getMessage();
        if (t instanceof java.nio.file.FileSystemException fs) m = fileSystemMessage(fs);
        else if (t instanceof OutOfMemoryError) m = "out of memory: " + m + " (use fewer tokens, a smaller batch or ratio)";
        else if (m == null || m.isBlank()) m = t.getClass().getSimpleName();
        return printable(withoutLibraryAdvice(m));
    }

    /** Gson's advice to its own programmers ("Use JsonReader.setStrictness(...)", its troubleshooting links). */
    static String withoutLibraryAdvice(String m) {
        return m.replaceAll("\\s*Use JsonReader\\.setStrictness\\(Strictness\\.LENIENT\\) to accept malformed JSON", "")
                .replaceAll("\\s*See https://github\\.com/google/gson/\\S*", "")
                .replaceAll("\\s*(com\\.google\\.gson\\.[\\w.]+(Exception|Error)): ", " ");
    }

    /** "PATH: reason" for the file-system exceptions, whose own messages are often the path alone. */
    static String fileSystemMessage(java.nio.file.FileSystemException e) {
        String file = e.getFile() != null ? e.getFile() : "?";
        return file + (e.getOtherFile() != null ? " -> " + e.getOtherFile() : "") + ": " + FileErrors.reason(e);
    }

    /** One line of visible text: control characters (from a corrupt file, say) as \xNN, cut to MAX_MESSAGE. */
    static String printable(String m) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < m.length(); i++) {
            if (b.length() >= MAX_MESSAGE) return b + "...";
            char c = m.charAt(i);
            if (c == '\n' || c == '\r' || c == '\t') b.append(' ');
            else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }

}
