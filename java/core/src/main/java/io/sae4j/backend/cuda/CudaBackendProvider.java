package io.sae4j.backend.cuda;

import io.sae4j.backend.Backend;
import io.sae4j.backend.BackendProvider;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;

/**
 * The CUDA backend, ranked above the CPU. Probed once per process, in order: the kernel library
 * in the jar (absent when nvcc was missing at build time), a driver and a device (the library
 * links the CUDA runtime statically, so it loads without a driver and reports error 35), then
 * cuBLAS 13 through the JavaCPP presets (libcublas.so.13 must be on the library path). Each
 * failure is remembered as the reason, never thrown at class-load time.
 *
 * <p>Settings: {@code -Dsae4j.cuda.device} / {@code SAE4J_CUDA_DEVICE} (default 0),
 * {@code -Dsae4j.cuda.tf32} / {@code SAE4J_CUDA_TF32} (default false).
 */
public final class CudaBackendProvider implements BackendProvider {
    private static volatile Availability probed;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int rank() {
        return 10;
    }

    @Override
    public Availability probe() {
        return probeOnce();
    }

    @Override
    public Backend create() {
        return new CudaBackend();
    }

    /** Why no CUDA backend can be made here, or null when it can. */
    static String unavailableReason() {
        Availability a = probeOnce();
        return a.available() ? null : a.reason();
    }

    private static Availability probeOnce() {
        Availability a = probed;
        if (a == null) probed = a = probeNow();
        return a;
    }

    private static Availability probeNow() {
        try (IntPointer count = new IntPointer(1); IntPointer error = new IntPointer(1)) {
            try {
                int status = NativeCuda.probe(count, error);
                if (status == NativeCuda.ERR_UNSUPPORTED) return Availability.no(CudaBackend.lastError());
                if (status != NativeCuda.OK) {
                    int e = error.get();
                    String name = NativeCuda.errorName(e).getString(), text = NativeCuda.errorString(e).getString();
                    if (e == 35) return Availability.no("no NVIDIA driver, or one too old for CUDA 13 (" + name + ": " + text + ")");
                    if (e == 100) return Availability.no("no CUDA device (" + name + ": " + text + ")");
                    return Availability.no("CUDA could not start (" + name + ": " + text + ")");
                }
            } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError
                boolean inJar = NativeCuda.class.getResource(Loader.getPlatform() + "/libjniNativeCuda.so") != null;
                return Availability.no(inJar ? "the CUDA kernel library did not load (" + t + ")"
                        : "this sae4j-core carries no CUDA library (built where nvcc was missing, or with SAE4J_SKIP_CUDA=1)");
            }
            if (count.get() < 1) return Availability.no("no CUDA device");
            int device = configuredDevice();
            if (device >= count.get())
                return Availability.no("device " + device + " asked for (sae4j.cuda.device), " + count.get() + " present");
            try {
                Loader.load(cublas.class);
            } catch (Throwable t) {
                return Availability.no("cuBLAS 13 (libcublas.so.13, libcublasLt.so.13) did not load: put their folder on "
                        + "LD_LIBRARY_PATH (" + t.getMessage() + ")");
            }
            return Availability.yes(count.get() + " device(s); device " + device + ": " + deviceSummary(device));
        }
    }

    /** "NVIDIA H100 80GB HBM3, compute 9.0, 79.1 GiB, CUDA runtime 13.0, driver 13.0". */
    static String deviceSummary(int device) {
        try (BytePointer name = new BytePointer(256); IntPointer major = new IntPointer(1); IntPointer minor = new IntPointer(1);
             LongPointer bytes = new LongPointer(1); IntPointer runtime = new IntPointer(1); IntPointer driver = new IntPointer(1)) {
            if (NativeCuda.deviceInfo(device, name, 256, major, minor, bytes) != NativeCuda.OK)
                return "device " + device + " (no details: " + CudaBackend.lastError() + ")";
            NativeCuda.versions(runtime, driver);
            return String.format(Locale.ROOT, "%s, compute %d.%d, %.1f GiB, CUDA runtime %s, driver %s", cString(name),
                    major.get(), minor.get(), bytes.get() / (double) (1L << 30), version(runtime.get()), version(driver.get()));
        }
    }

    /**
     * The NUL-terminated string at the start of buffer. BytePointer.getString() on a buffer we
     * allocated reads all of its capacity, the NUL and whatever follows it included (the first
     * H200 run printed the device name followed by 200 bytes of heap).
     */
    static String cString(BytePointer buffer) {
        byte[] bytes = new byte[(int) buffer.capacity()];
        buffer.get(bytes);
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    private static String version(int v) {
        return v <= 0 ? "none" : v / 1000 + "." + v % 1000 / 10;
    }

    static int configuredDevice() {
        String v = setting("sae4j.cuda.device", "SAE4J_CUDA_DEVICE");
        if (v == null) return 0;
        try {
            int d = Integer.parseInt(v.trim());
            if (d < 0) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sae4j.cuda.device / SAE4J_CUDA_DEVICE: expected a device number >= 0, got '"
                    + v + "'");
        }
    }

    static boolean configuredTf32() {
        String v = setting("sae4j.cuda.tf32", "SAE4J_CUDA_TF32");
        if (v == null) return false;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("sae4j.cuda.tf32 / SAE4J_CUDA_TF32: expected true or false, got '"
                    + v + "'");
        };
    }

    private static String setting(String property, String env) {
        String v = System.getProperty(property);
        return v != null ? v : System.getenv(env);
    }
}
