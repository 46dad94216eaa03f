package io.sae4j.cli;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import picocli.CommandLine.Option;

/** {@code --device cpu|cuda|auto}, mixed into every command that computes. */
final class DeviceOption {
    @Option(names = "--device", description = "Backend: cpu, cuda or auto (CUDA when a GPU and its libraries load, "
            + "else CPU). Default: SAE4J_DEVICE or -Dsae4j.device, else auto.")
    String device;

    /** The selected backend; prints on stderr what it runs on and why auto passed others over. */
    Backend open() {
        Backends.Selection s = Backends.select(device != null ? device : Backends.defaultDevice());
        for (String note : s.notes())
            if (note.contains(" not available: ")) System.err.println("sae4j: " + note.replace("device auto: ", ""));
        System.err.println("sae4j: backend " + s.backend().describe());
        return s.backend();
    }
}
