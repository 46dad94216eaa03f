package io.sae4j.cli;

import io.sae4j.backend.BackendProvider;
import io.sae4j.backend.Backends;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Prints the environment: Java, OS, each backend with what it runs on or why it cannot run. */
@Command(name = "env", mixinStandardHelpOptions = true,
        description = "Show the backends (cpu, cuda), what each runs on, why one is unavailable, and what auto picks.")
final class EnvCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.println("sae4j " + Main.version());
        System.out.println("java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + " (" + System.getProperty("java.home") + ")");
        System.out.println("os: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " processors, max heap "
                + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        String auto = null;
        System.out.println("backends:");
        for (BackendProvider p : Backends.providers()) {
            BackendProvider.Availability a = p.probe();
            System.out.println("  " + p.name() + ": " + (a.available() ? "available: " + a.runsOn() : "unavailable: " + a.reason()));
            if (auto == null && a.available()) auto = p.name();
        }
        System.out.println("--device auto picks: " + (auto != null ? auto : "nothing (no backend can run here)"));
        System.out.println("default device: " + Backends.defaultDevice() + " (set with --device or SAE4J_DEVICE)");
        return auto != null ? 0 : 1;
    }
}
