// compat.cpp: keeps the library loadable on older systems. libstdc++ is linked statically (no
// libstdc++.so of a given age is needed), and its std::random_device refers to arc4random, which
// glibc has only since 2.36. sae4j never uses std::random_device; this hidden definition satisfies
// the reference from getrandom (glibc 2.25), so the library needs nothing newer than glibc 2.34.
#include <sys/random.h>

#include <cstdint>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) {
    uint32_t v = 0;
    while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
    }
    return v;
}
