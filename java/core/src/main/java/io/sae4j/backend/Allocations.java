package io.sae4j.backend;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The allocations of one backend instance that are still open, so that closing the backend frees
 * whatever its users left open (JavaCPP's GC-driven release is never relied on). For backends.
 */
public final class Allocations {
    private final Set<Allocation> open = Collections.newSetFromMap(new IdentityHashMap<>());

    /** A new open allocation whose close runs {@code release} once and forgets it here. */
    public Allocation register(Runnable release) {
        Allocation[] self = new Allocation[1];
        self[0] = new Allocation(() -> {
            synchronized (open) {
                open.remove(self[0]);
            }
            release.run();
        });
        synchronized (open) {
            open.add(self[0]);
        }
        return self[0];
    }

    /** Closes every open allocation. */
    public void closeAll() {
        List<Allocation> all;
        synchronized (open) {
            all = new ArrayList<>(open);
        }
        for (Allocation a : all) a.close();
    }
}
