package io.sae4j.cli;

import io.sae4j.backend.Backend;
import io.sae4j.backend.Backends;
import picocli.CommandLine.Option;

/** {@code --device cpu|cuda|auto}, mixed into every command that computes. */
final class DeviceOption {
    @Option(names = "--device", description = "Backend: cpu, cuda or auto (CUDA when a GPU and its libraries load, "
            + "else CPU; default ${DEFAULT-VALUE}, or SAE4J_DEVICE).", defaultValue = "${env:SAE4J_DEVICE:-auto}")
    String device;

    /** The selected backend; prints why auto chose it (or why CUDA was passed over) on stderr. */
    Backend open() {
        Backends.Selection s = Backends.select(device);
        for (String note : s.notes()) System.err.println("sae4j: " + note);
        System.err.println("sae4j: backend " + s.backend().describe());
        return s.backend();
    }
}
