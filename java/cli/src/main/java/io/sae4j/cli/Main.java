package io.sae4j.cli;

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
        return cl.execute(args);
    }

    /** The version in the jar's manifest, or "dev" when run from classes. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    static String message(Throwable t) {
        String m = t.getMessage();
        if (t instanceof java.nio.file.NoSuchFileException nf)
            return "no such file: " + nf.getFile() + (nf.getReason() != null ? " (" + nf.getReason() + ")" : "");
        if (t instanceof OutOfMemoryError) return "out of memory: " + m + " (use fewer tokens, a smaller batch or ratio)";
        if (m == null || m.isBlank()) return t.getClass().getSimpleName();
        return m.replace('\n', ' ');
    }
}
