package io.sae4j.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * Backend selection. {@code auto} takes the available backend of highest rank (CUDA when a device
 * and its libraries load, else the CPU) and says why; naming a backend that cannot run here is an
 * error that says why. The default device comes from {@code -Dsae4j.device} or {@code SAE4J_DEVICE},
 * else {@code auto}.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    private Backends() {}

    /** A backend chosen for a device name, and the lines explaining the choice. */
    public record Selection(Backend backend, List<String> notes) {}

    /** Every provider on the class path, highest rank first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> all = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).forEach(all::add);
        all.sort(Comparator.comparingInt(BackendProvider::rank).reversed());
        return all;
    }

    public static BackendProvider provider(String name) {
        for (BackendProvider p : providers())
            if (p.name().equals(name)) return p;
        throw new IllegalArgumentException("no backend named '" + name + "'; expected auto, " + names());
    }

    /** The default device name: -Dsae4j.device, SAE4J_DEVICE, else "auto". */
    public static String defaultDevice() {
        String v = System.getProperty("sae4j.device");
        if (v == null) v = System.getenv("SAE4J_DEVICE");
        return v == null || v.isBlank() ? "auto" : v.trim().toLowerCase(Locale.ROOT);
    }

    /** The backend for the default device; logs why auto chose it (System.Logger, INFO). */
    public static Backend create() {
        return logged(select(defaultDevice()));
    }

    /** The best available backend; logs the choice and why others were passed over. */
    public static Backend auto() {
        return logged(select("auto"));
    }

    private static Backend logged(Selection s) {
        s.notes().forEach(n -> LOG.log(System.Logger.Level.INFO, n));
        return s.backend();
    }

    /**
     * The backend for {@code device} ("auto" or a provider's name) and the lines explaining the
     * choice (for the caller to show; nothing is logged). Throws
     * {@link BackendException} with the reason when the named backend cannot run here.
     */
    public static Selection select(String device) {
        String name = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        List<String> notes = new ArrayList<>();
        if (!name.equals("auto")) {
            BackendProvider p = provider(name);
            BackendProvider.Availability a = p.probe();
            if (!a.available()) throw new BackendException("device " + name + ": not available: " + a.reason());
            return new Selection(p.create(), notes);
        }
        for (BackendProvider p : providers()) {
            BackendProvider.Availability a = p.probe();
            if (!a.available()) {
                notes.add("device auto: " + p.name() + " not available: " + a.reason());
                continue;
            }
            try {
                Backend b = p.create();
                notes.add("device auto: " + p.name() + " (" + a.runsOn() + ")");
                return new Selection(b, notes);
            } catch (RuntimeException e) { // probed fine, but this device cannot be opened: next one
                notes.add("device auto: " + p.name() + " not available: " + e.getMessage());
            }
        }
        throw new BackendException("no backend can run here: " + String.join("; ", notes));
    }

    private static String names() {
        List<String> n = new ArrayList<>();
        for (BackendProvider p : providers()) n.add(p.name());
        return n.size() < 2 ? String.join("", n) : String.join(", ", n.subList(0, n.size() - 1)) + " or " + n.get(n.size() - 1);
    }
}
