// kernel_test.cu: the native test program of the sae4j CUDA kernel library (no JVM). Every entry
// point of include/sae4j_cuda.h is checked against a host double-precision reference on fresh
// random inputs of sizes that are multiples of no tile (and 1 x 1 x 1 edges); every output buffer
// is poisoned (NaN) before the call and followed by guard elements that must stay unchanged.
// One line per check; exit status 0 when all pass, 1 when any fails, 77 when there is no device
// (after checking that every entry point then fails cleanly).
//
//   build:   cuda/build.sh OUT_DIR            (builds OUT_DIR/sae4j_cuda_test)
//   run:     OUT_DIR/sae4j_cuda_test [--quick] [--only GROUP]
//            --quick: smaller sizes, and none of the checks that make a CUDA call fail on purpose
//            (out of memory, invalid device), which compute-sanitizer would count as errors
//            groups: context elementwise adam errors sae-sparse sae-dense sae-auto sae-edge
//            sae-large normalise cosine cosine-large topk auxk coact
//   sanitizers: compute-sanitizer --tool memcheck OUT_DIR/sae4j_cuda_test
//               compute-sanitizer --tool racecheck OUT_DIR/sae4j_cuda_test --quick
#include "test_auxk.cuh"
#include "test_coact.cuh"
#include "test_cosine.cuh"
#include "test_topk.cuh"
#include "test_sae.cuh"
#include "test_util.cuh"

using namespace kt;

namespace {

bool g_quick = false;
bool g_api_errors = true;  // checks that make CUDA calls fail on purpose (off with --quick)
const char* g_only = nullptr;  // run only the groups whose name contains this
bool want(const char* group) { return !g_only || strstr(group, g_only); }

void test_context(int device_count) {
    int rt = 0, drv = 0;
    OK(sae4j_cuda_versions(&rt, &drv));
    report_exact("versions: runtime and driver > 0", !(rt > 0 && drv > 0));
    char name[128], small[4];
    int major = 0, minor = 0;
    int64_t total = 0;
    OK(sae4j_cuda_device_info(0, name, sizeof name, &major, &minor, &total));
    printf("device 0: %s, compute capability %d.%d, %lld bytes; runtime %d, driver %d\n", name,
           major, minor, (long long)total, rt, drv);
    report_exact("device_info: name, cc >= 8.0, memory", !(name[0] && major >= 8 && total > 0));
    OK(sae4j_cuda_device_info(0, small, sizeof small, &major, &minor, &total));
    report_exact("device_info: name truncated to len", strlen(small) > 3);
    expect_status("device_info(-1)",
                  sae4j_cuda_device_info(-1, name, sizeof name, &major, &minor, &total),
                  SAE4J_CUDA_ERR_ARG);
    DBuf<float> one(1);
    if (g_api_errors) {
        expect_status("device_info(device_count)",
                      sae4j_cuda_device_info(device_count, name, sizeof name, &major, &minor, &total),
                      SAE4J_CUDA_ERR_CUDA);
        // the failed runtime call's error was cleared: the next launch check does not report it
        expect_status("a kernel right after an ERR_CUDA",
                      sae4j_cuda_fill_f32(g_ctx, one.d, 1, 2.f), SAE4J_CUDA_OK);
    }
    report_exact("error_name(100), error_name(35)",
                 strcmp(sae4j_cuda_error_name(100), "cudaErrorNoDevice") != 0 ||
                     strcmp(sae4j_cuda_error_name(35), "cudaErrorInsufficientDriver") != 0 ||
                     !sae4j_cuda_error_string(100)[0]);
    report_exact("ctx_stream, ctx_device",
                 !sae4j_cuda_ctx_stream(g_ctx) || sae4j_cuda_ctx_device(g_ctx) != 0);
    int st = -1;
    report_exact("ctx_create(-1) fails with ERR_ARG",
                 sae4j_cuda_ctx_create(-1, &st) != nullptr || st != SAE4J_CUDA_ERR_ARG);
    report_exact("ctx_create(device_count) fails with ERR_ARG",
                 sae4j_cuda_ctx_create(device_count, &st) != nullptr || st != SAE4J_CUDA_ERR_ARG);
    sae4j_cuda_ctx* c2 = sae4j_cuda_ctx_create(0, &st);
    report_exact("a second context on device 0", !c2 || st != SAE4J_CUDA_OK);
    sae4j_cuda_ctx_destroy(c2);

    // memory: errors, then the next call still works (the failed call's error was cleared)
    report_exact("malloc(0) fails with ERR_ARG",
                 sae4j_cuda_malloc(g_ctx, 0, &st) != nullptr || st != SAE4J_CUDA_ERR_ARG);
    if (g_api_errors) {
        report_exact("malloc(2^50) fails with ERR_NOMEM naming the bytes",
                     sae4j_cuda_malloc(g_ctx, (int64_t)1 << 50, &st) != nullptr ||
                         st != SAE4J_CUDA_ERR_NOMEM || !strstr(sae4j_cuda_last_error(), "bytes asked"));
        printf("  last_error: %s\n", sae4j_cuda_last_error());
    }
    Rng r(3);
    const int64_t n = 1001;
    std::vector<float> h = r.vec(n, -5, 5);
    DBuf<float> a(n), b(n);
    a.set(h);
    report_exact("upload / download round trip", a.get() != h);
    OK(sae4j_cuda_copy(g_ctx, b.d, a.d, n * 4));
    report_exact("copy (d2d) and its guard", (b.get() != h) + b.guard_bad());
    OK(sae4j_cuda_fill_f32(g_ctx, b.d, n, 3.25f));
    report_exact("fill_f32 and its guard", (b.get() != std::vector<float>(n, 3.25f)) + b.guard_bad());
    DBuf<int32_t> ib(1);
    OK(sae4j_cuda_fill_i32(g_ctx, ib.d, 1, -7));
    report_exact("fill_i32 (n = 1) and its guard", (ib.get()[0] != -7) + ib.guard_bad());
    expect_status("fill_f32(n = 0)", sae4j_cuda_fill_f32(g_ctx, b.d, 0, 1.f), SAE4J_CUDA_OK);
    expect_status("fill_f32(n = -1)", sae4j_cuda_fill_f32(g_ctx, b.d, -1, 1.f), SAE4J_CUDA_ERR_ARG);
    expect_status("upload(bytes = -1)", sae4j_cuda_upload(g_ctx, b.d, h.data(), -1), SAE4J_CUDA_ERR_ARG);
    report_exact("fill and upload with bad sizes wrote nothing",
                 (b.get() != std::vector<float>(n, 3.25f)) + b.guard_bad());
    report_exact("last_error after ERR_ARG names the condition",
                 !strstr(sae4j_cuda_last_error(), "invalid argument"));
    expect_status("free(NULL)", sae4j_cuda_free(g_ctx, nullptr), SAE4J_CUDA_OK);
    expect_status("sync", sae4j_cuda_sync(g_ctx), SAE4J_CUDA_OK);
}

// center_rows, broadcast_rows, row_norms on caller buffers; sum_sq_dev with a large mean.
void test_elementwise(int64_t B, int64_t d, uint64_t seed) {
    Rng r(seed);
    std::vector<float> x = r.vec(B * d, -2, 2), bv = r.vec(d, -1, 1);
    DBuf<float> X(B * d), Bv(d), O(B * d), N(B);
    X.set(x);
    Bv.set(bv);
    char tag[64];
    snprintf(tag, sizeof tag, "elementwise B=%lld d=%lld", (long long)B, (long long)d);
    std::vector<double> ref((size_t)(B * d)), nref((size_t)B, 0.0);
    for (int64_t i = 0; i < B; ++i)
        for (int64_t k = 0; k < d; ++k) {
            ref[i * d + k] = (double)x[i * d + k] - bv[k];
            nref[i] += (double)x[i * d + k] * x[i * d + k];
        }
    for (auto& v : nref) v = std::sqrt(v);
    OK(sae4j_cuda_center_rows(g_ctx, B, d, X.d, Bv.d, O.d));
    report(std::string(tag) + " center_rows", rel_err(O.get(), ref), 1e-6);
    report_exact(std::string(tag) + " center_rows guard", O.guard_bad());
    O.poison_all();
    OK(sae4j_cuda_broadcast_rows(g_ctx, B, d, Bv.d, O.d));
    for (int64_t i = 0; i < B; ++i)
        for (int64_t k = 0; k < d; ++k) ref[i * d + k] = bv[k];
    report(std::string(tag) + " broadcast_rows", rel_err(O.get(), ref), 0.0);
    report_exact(std::string(tag) + " broadcast_rows guard", O.guard_bad());
    OK(sae4j_cuda_row_norms(g_ctx, B, d, X.d, N.d));
    report(std::string(tag) + " row_norms", rel_err(N.get(), nref), 2e-6);
    report_exact(std::string(tag) + " row_norms guard", N.guard_bad());
    O.poison_all();
    expect_status(std::string(tag) + " center_rows(B = 0)",
                  sae4j_cuda_center_rows(g_ctx, 0, d, X.d, Bv.d, O.d), SAE4J_CUDA_OK);
    expect_status(std::string(tag) + " center_rows(B = -1)",
                  sae4j_cuda_center_rows(g_ctx, -1, d, X.d, Bv.d, O.d), SAE4J_CUDA_ERR_ARG);
    expect_status(std::string(tag) + " broadcast_rows(d = 0)",
                  sae4j_cuda_broadcast_rows(g_ctx, B, 0, Bv.d, O.d), SAE4J_CUDA_ERR_ARG);
    expect_status(std::string(tag) + " row_norms(cols = 0)",
                  sae4j_cuda_row_norms(g_ctx, B, 0, X.d, O.d), SAE4J_CUDA_ERR_ARG);
    expect_status(std::string(tag) + " center_rows(out = NULL)",
                  sae4j_cuda_center_rows(g_ctx, B, d, X.d, Bv.d, nullptr), SAE4J_CUDA_ERR_ARG);
    report_exact(std::string(tag) + " calls with bad sizes wrote nothing",
                 untouched(O.d, 0, B * d, poison_f()) + O.guard_bad());

    // TopK training's unit-norm rows: W = x with row 0 zeroed, G random; radial part, then rescale
    std::vector<float> w(x), g = r.vec(B * d, -1, 1);
    std::fill(w.begin(), w.begin() + d, 0.f);
    DBuf<float> W(B * d), G(B * d);
    W.set(w);
    G.set(g);
    OK(sae4j_cuda_remove_radial(g_ctx, B, d, W.d, G.d));
    std::vector<double> gref((size_t)(B * d)), wref((size_t)(B * d));
    for (int64_t i = 0; i < B; ++i) {
        double ww = 0, gw = 0;
        for (int64_t k = 0; k < d; ++k) {
            ww += (double)w[i * d + k] * w[i * d + k];
            gw += (double)g[i * d + k] * w[i * d + k];
        }
        for (int64_t k = 0; k < d; ++k) {
            gref[i * d + k] = ww > 0 ? g[i * d + k] - gw / ww * w[i * d + k] : g[i * d + k];
            wref[i * d + k] = ww > 0 ? w[i * d + k] / std::sqrt(ww) : 0.0;
        }
    }
    report(std::string(tag) + " remove_radial", rel_err(G.get(), gref), 1e-5);
    OK(sae4j_cuda_normalize_rows(g_ctx, B, d, W.d));
    report(std::string(tag) + " normalize_rows", rel_err(W.get(), wref), 1e-6);
    report_exact(std::string(tag) + " remove_radial, normalize_rows guards", G.guard_bad() + W.guard_bad());
}

void test_sum_sq_dev_mean() {
    // x = 1000 + noise: S2 - S1^2 / B in the shifted form keeps float32 accuracy
    const int64_t B = 37, d = 45;
    int st = 0;
    sae4j_cuda_batch* bt = sae4j_cuda_batch_create(g_ctx, B + 3, d, 7, SAE4J_CUDA_LATENTS_DENSE, 0.0, 0, &st);
    if (!bt) die("sae4j_cuda_batch_create", st);
    Rng r(11);
    std::vector<float> x = r.vec(B * d, 999, 1001);
    x.resize((size_t)((B + 3) * d), poison_f());
    ul(sae4j_cuda_batch_x(bt), x);
    for (int64_t rows : {B, (int64_t)1}) {
        std::vector<double> ref(1, 0.0);
        for (int64_t k = 0; k < d; ++k) {
            double mean = 0;
            for (int64_t b = 0; b < rows; ++b) mean += x[b * d + k];
            mean /= (double)rows;
            for (int64_t b = 0; b < rows; ++b) ref[0] += (x[b * d + k] - mean) * (x[b * d + k] - mean);
        }
        DBuf<float> S(1);
        OK(sae4j_cuda_sum_sq_dev(g_ctx, bt, rows, S.d));
        report("sum_sq_dev mean 1000, B=" + std::to_string(rows) + (rows == 1 ? " (exactly 0)" : ""),
               rel_err(S.get(), ref), 1e-5);
        report_exact("sum_sq_dev guard", S.guard_bad());
    }
    DBuf<float> S(1);
    expect_status("sum_sq_dev(B > rows)", sae4j_cuda_sum_sq_dev(g_ctx, bt, B + 4, S.d), SAE4J_CUDA_ERR_ARG);
    expect_status("sum_sq_dev(B = 0)", sae4j_cuda_sum_sq_dev(g_ctx, bt, 0, S.d), SAE4J_CUDA_ERR_ARG);
    report_exact("sum_sq_dev bad calls wrote nothing", untouched(S.d, 0, 1, poison_f()) + S.guard_bad());
    sae4j_cuda_batch_destroy(bt);
}

void test_adam(int64_t n, int64_t t, uint64_t seed) {
    Rng r(seed);
    const float lr = 0.05f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    std::vector<float> p = r.vec(n, -1, 1), g = r.vec(n, -1, 1), m1 = r.vec(n, -0.1, 0.1),
                       m2 = r.vec(n, 0, 0.01);
    DBuf<float> P(n), Gd(n), M1(n), M2(n);
    P.set(p);
    Gd.set(g);
    M1.set(m1);
    M2.set(m2);
    OK(sae4j_cuda_adam_step(g_ctx, n, P.d, Gd.d, M1.d, M2.d, lr, b1, b2, eps, t));
    std::vector<double> rm1((size_t)n), rm2((size_t)n), rdp((size_t)n);
    const double c1 = 1 - std::pow((double)b1, (double)t), c2 = 1 - std::pow((double)b2, (double)t);
    for (int64_t i = 0; i < n; ++i) {
        rm1[i] = (double)b1 * m1[i] + (1 - (double)b1) * g[i];
        rm2[i] = (double)b2 * m2[i] + (1 - (double)b2) * (double)g[i] * g[i];
        rdp[i] = -(double)lr * (rm1[i] / c1) / (std::sqrt(rm2[i] / c2) + (double)eps);
    }
    std::vector<float> pg = P.get();
    std::vector<float> dp((size_t)n);
    for (int64_t i = 0; i < n; ++i) dp[i] = (float)((double)pg[i] - p[i]);
    const std::string tag = "adam n=" + std::to_string(n) + " t=" + std::to_string(t);
    report(tag + " m1", rel_err(M1.get(), rm1), 1e-6);
    report(tag + " m2", rel_err(M2.get(), rm2), 1e-6);
    report(tag + " p - p0", rel_err(dp, rdp), 1e-5);
    report_exact(tag + " guards", P.guard_bad() + M1.guard_bad() + M2.guard_bad());
    // bad hyper-parameters: ERR_ARG, nothing written
    std::vector<float> p1 = P.get(), a1 = M1.get(), v1 = M2.get();
    int bad = 0;
    bad += sae4j_cuda_adam_step(g_ctx, n, P.d, Gd.d, M1.d, M2.d, lr, b1, b2, eps, 0) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_adam_step(g_ctx, n, P.d, Gd.d, M1.d, M2.d, lr, 1.f, b2, eps, t) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_adam_step(g_ctx, n, P.d, Gd.d, M1.d, M2.d, lr, b1, b2, 0.f, t) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_adam_step(g_ctx, n, P.d, Gd.d, M1.d, M2.d, -1.f, b1, b2, eps, t) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_adam_step(g_ctx, -1, P.d, Gd.d, M1.d, M2.d, lr, b1, b2, eps, t) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_adam_step(g_ctx, n, P.d, nullptr, M1.d, M2.d, lr, b1, b2, eps, t) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_adam_step(g_ctx, 0, P.d, Gd.d, M1.d, M2.d, lr, b1, b2, eps, t) != SAE4J_CUDA_OK;
    bad += (P.get() != p1) + (M1.get() != a1) + (M2.get() != v1);
    report_exact(tag + " bad arguments: ERR_ARG, nothing written", bad);
}

// Size and state errors of the batch entry points: ERR_ARG (or UNSUPPORTED), nothing written.
void test_batch_errors() {
    int st = 0, bad = 0;
    auto create_fails = [&](int64_t rows, int64_t d, int64_t mm, int storage, double dens, int want) {
        int s = -1;
        sae4j_cuda_batch* b = sae4j_cuda_batch_create(g_ctx, rows, d, mm, storage, dens, 1, &s);
        if (b) sae4j_cuda_batch_destroy(b);
        return b != nullptr || s != want;
    };
    bad += create_fails(0, 5, 7, SAE4J_CUDA_LATENTS_SPARSE, 0.5, SAE4J_CUDA_ERR_ARG);
    bad += create_fails(8, 0, 7, SAE4J_CUDA_LATENTS_SPARSE, 0.5, SAE4J_CUDA_ERR_ARG);
    bad += create_fails(8, 5, -1, SAE4J_CUDA_LATENTS_SPARSE, 0.5, SAE4J_CUDA_ERR_ARG);
    bad += create_fails(8, 5, 7, 7, 0.5, SAE4J_CUDA_ERR_ARG);
    bad += create_fails(8, 5, 7, SAE4J_CUDA_LATENTS_AUTO, 1.5, SAE4J_CUDA_ERR_ARG);
    bad += create_fails(8, 5, 7, SAE4J_CUDA_LATENTS_AUTO, NAN, SAE4J_CUDA_ERR_ARG);
    bad += create_fails(65536, 5, 32768, SAE4J_CUDA_LATENTS_SPARSE, 0.5, SAE4J_CUDA_ERR_ARG);  // 2^31
    report_exact("batch_create bad sizes and options: NULL, ERR_ARG", bad);
    if (g_api_errors)
        report_exact("batch_create of 4 TiB: NULL, ERR_NOMEM naming the bytes",
                     create_fails((int64_t)1 << 20, (int64_t)1 << 20, 1, SAE4J_CUDA_LATENTS_DENSE,
                                  0.5, SAE4J_CUDA_ERR_NOMEM) ||
                         !strstr(sae4j_cuda_last_error(), "bytes asked"));

    const int64_t rows = 8, d = 5, mm = 7;
    sae4j_cuda_batch* bt = sae4j_cuda_batch_create(g_ctx, rows, d, mm, SAE4J_CUDA_LATENTS_SPARSE, 0.5, 1, &st);
    sae4j_cuda_batch* dn = sae4j_cuda_batch_create(g_ctx, rows, d, mm, SAE4J_CUDA_LATENTS_DENSE, 0.5, 1, &st);
    sae4j_cuda_batch* inf = sae4j_cuda_batch_create(g_ctx, rows, d, mm, SAE4J_CUDA_LATENTS_SPARSE, 0.5, 0, &st);
    if (!bt || !dn || !inf) die("sae4j_cuda_batch_create", st);
    report_exact("inference batch has no err / dpre",
                 sae4j_cuda_batch_err(inf) != nullptr || sae4j_cuda_batch_dpre(inf) != nullptr);
    Rng r(5);
    const int64_t np = 2 * mm * d + mm + d;
    DBuf<float> P(np), G(np), L(2);
    P.set(r.vec(np, -0.5, 0.5));
    DBuf<int32_t> nnz(1);
    std::vector<float> f0 = r.vec(rows * mm, -1, 1);
    ul(sae4j_cuda_batch_f(bt), f0);
    const float* benc = P.d + mm * d;
    auto expect = [&](const char* what, int got, int want) { expect_status(std::string("batch errors: ") + what, got, want); };
    expect("decode_sparse before any epilogue", sae4j_cuda_sae_decode_sparse(g_ctx, bt, 4, mm, P.d), SAE4J_CUDA_ERR_ARG);
    expect("dpre_sparse before any epilogue", sae4j_cuda_sae_dpre_sparse(g_ctx, bt, 4, mm, P.d, 0.1f), SAE4J_CUDA_ERR_ARG);
    expect("epilogue B > rows", sae4j_cuda_sae_epilogue(g_ctx, bt, rows + 1, mm, benc, 0, 0, nullptr, nnz.d, nullptr, -1), SAE4J_CUDA_ERR_ARG);
    expect("epilogue B = 0", sae4j_cuda_sae_epilogue(g_ctx, bt, 0, mm, benc, 0, 0, nullptr, nnz.d, nullptr, -1), SAE4J_CUDA_ERR_ARG);
    expect("epilogue m > max_m", sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm + 1, benc, 0, 0, nullptr, nnz.d, nullptr, -1), SAE4J_CUDA_ERR_ARG);
    expect("epilogue b_enc NULL", sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm, nullptr, 0, 0, nullptr, nnz.d, nullptr, -1), SAE4J_CUDA_ERR_ARG);
    expect("epilogue nnz NULL", sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm, benc, 0, 0, nullptr, nullptr, nullptr, -1), SAE4J_CUDA_ERR_ARG);
    expect("epilogue act BatchTopK", sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm, benc, SAE4J_CUDA_ACT_BATCHTOPK, 3, nullptr, nnz.d, nullptr, -1), SAE4J_CUDA_ERR_UNSUPPORTED);
    expect("epilogue act 99", sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm, benc, 99, 0, nullptr, nnz.d, nullptr, -1), SAE4J_CUDA_ERR_ARG);
    expect("epilogue path 2", sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm, benc, 0, 0, nullptr, nnz.d, nullptr, 2), SAE4J_CUDA_ERR_ARG);
    expect("sae_err d != batch d", sae4j_cuda_sae_err(g_ctx, bt, 4, d + 1), SAE4J_CUDA_ERR_ARG);
    expect("sae_err on an inference batch", sae4j_cuda_sae_err(g_ctx, inf, 4, d), SAE4J_CUDA_ERR_ARG);
    expect("losses B > rows", sae4j_cuda_sae_losses(g_ctx, bt, rows + 1, L.d), SAE4J_CUDA_ERR_ARG);
    expect("NULL batch", sae4j_cuda_sae_err(g_ctx, nullptr, 4, d), SAE4J_CUDA_ERR_ARG);
    {
        sae4j_cuda_ctx* c2 = sae4j_cuda_ctx_create(0, &st);
        if (!c2) die("sae4j_cuda_ctx_create", st);
        sae4j_cuda_batch* other = sae4j_cuda_batch_create(c2, rows, d, mm, SAE4J_CUDA_LATENTS_DENSE, 0.5, 1, &st);
        if (!other) die("sae4j_cuda_batch_create", st);
        expect("batch of another context", sae4j_cuda_sae_err(g_ctx, other, 4, d), SAE4J_CUDA_ERR_ARG);
        sae4j_cuda_batch_destroy(other);
        sae4j_cuda_ctx_destroy(c2);
    }
    report_exact("batch errors: f, nnz, losses unwritten",
                 (dl(sae4j_cuda_batch_f(bt), rows * mm) != f0) + untouched(nnz.d, 0, 1, POISON_I) +
                     untouched(L.d, 0, 2, poison_f()));

    OK(sae4j_cuda_sae_epilogue(g_ctx, bt, 4, mm, benc, SAE4J_CUDA_ACT_RELU, 0, nullptr, nnz.d, nullptr, -1));
    std::vector<float> xh0 = dl(sae4j_cuda_batch_xhat(bt), rows * d);
    expect("decode_sparse with another m", sae4j_cuda_sae_decode_sparse(g_ctx, bt, 4, mm - 1, P.d), SAE4J_CUDA_ERR_ARG);
    expect("decode_sparse with another B", sae4j_cuda_sae_decode_sparse(g_ctx, bt, 3, mm, P.d), SAE4J_CUDA_ERR_ARG);
    expect("grads_sparse before dpre_sparse", sae4j_cuda_sae_grads_sparse(g_ctx, bt, 4, mm, P.d, 0.1f, G.d), SAE4J_CUDA_ERR_ARG);
    report_exact("batch errors: xhat and grads unwritten",
                 (dl(sae4j_cuda_batch_xhat(bt), rows * d) != xh0) + untouched(G.d, 0, np, poison_f()));
    OK(sae4j_cuda_sae_epilogue(g_ctx, dn, 4, mm, benc, SAE4J_CUDA_ACT_RELU, 0, nullptr, nnz.d, nullptr, -1));
    report_exact("DENSE batch takes the dense path", sae4j_cuda_batch_sparse(dn) != 0);
    expect("decode_sparse after a dense epilogue", sae4j_cuda_sae_decode_sparse(g_ctx, dn, 4, mm, P.d), SAE4J_CUDA_ERR_ARG);
    expect("dpre_sparse after a dense epilogue", sae4j_cuda_sae_dpre_sparse(g_ctx, dn, 4, mm, P.d, 0.1f), SAE4J_CUDA_ERR_ARG);
    // inference batch: epilogue + sparse decode work without training buffers
    OK(sae4j_cuda_sae_epilogue(g_ctx, inf, 4, mm, benc, SAE4J_CUDA_ACT_RELU, 0, nullptr, nnz.d, nullptr, -1));
    expect("decode_sparse on an inference batch", sae4j_cuda_sae_decode_sparse(g_ctx, inf, 4, mm, P.d), SAE4J_CUDA_OK);
    sae4j_cuda_batch_destroy(inf);
    sae4j_cuda_batch_destroy(dn);
    sae4j_cuda_batch_destroy(bt);
}

void test_cosine_errors() {
    const int64_t n1 = 5, n2 = 6, d = 3;
    DBuf<float> A(n1 * d), B(n2 * d), rm(n1), cm(n2), out(n1 * d);
    DBuf<int32_t> ra(n1), ca(n2);
    const int64_t ws = sae4j_cuda_cosine_max_workspace(n1, n2, d);
    DBuf<float> W(ws / 4 + 4);
    Rng r(9);
    A.set(r.vec(n1 * d, -1, 1));
    B.set(r.vec(n2 * d, -1, 1));
    int bad = 0;
    bad += sae4j_cuda_cosine_max_workspace(0, n2, d) != -1;
    bad += sae4j_cuda_cosine_max_workspace(n1, n2, (int64_t)1 << 40) != -1;
    bad += sae4j_cuda_cosine_max(g_ctx, 0, n2, d, A.d, 0, B.d, 0, 0, 0, rm.d, ra.d, cm.d, ca.d, W.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_cosine_max(g_ctx, n1, n2, 0, A.d, 0, B.d, 0, 0, 0, rm.d, ra.d, cm.d, ca.d, W.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_cosine_max(g_ctx, n1, n2, d, A.d, 0, B.d, 0, 0, 2, rm.d, ra.d, cm.d, ca.d, W.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_cosine_max(g_ctx, n1, n2, d, A.d, 0, B.d, 0, 0, 0, rm.d, ra.d, cm.d, ca.d, (char*)W.d + 4) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_cosine_max(g_ctx, n1, n2, d, A.d, 0, B.d, 0, 0, 0, rm.d, nullptr, cm.d, ca.d, W.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_normalise(g_ctx, 0, d, A.d, 0, 0, out.d) != SAE4J_CUDA_ERR_ARG;
    bad += sae4j_cuda_normalise(g_ctx, n1, d, A.d, 0, 0, nullptr) != SAE4J_CUDA_ERR_ARG;
    bad += untouched(rm.d, 0, n1, poison_f()) + untouched(cm.d, 0, n2, poison_f()) +
           untouched(ra.d, 0, n1, POISON_I) + untouched(ca.d, 0, n2, POISON_I) +
           untouched(out.d, 0, n1 * d, poison_f()) + untouched(W.d, 0, ws / 4, poison_f());
    report_exact("cosine / normalise bad arguments: ERR_ARG, nothing written", bad);
}

// Without a usable device every entry point must fail with a status, never crash.
int no_device(int st, int cuda_error) {
    printf("no usable CUDA device: status %d, cuda error %d (%s): %s\n", st, cuda_error,
           sae4j_cuda_error_name(cuda_error), sae4j_cuda_last_error());
    int s = -1, rt = 0, drv = -1;
    report_exact("probe fails with ERR_CUDA or ERR_UNSUPPORTED",
                 st != SAE4J_CUDA_ERR_CUDA && st != SAE4J_CUDA_ERR_UNSUPPORTED);
    report_exact("ctx_create fails with a status", sae4j_cuda_ctx_create(0, &s) != nullptr || s == SAE4J_CUDA_OK);
    report_exact("versions still answer", sae4j_cuda_versions(&rt, &drv) != SAE4J_CUDA_OK || rt <= 0);
    report_exact("batch_create(NULL ctx): ERR_ARG",
                 sae4j_cuda_batch_create(nullptr, 8, 5, 7, 0, 0.5, 1, &s) != nullptr || s != SAE4J_CUDA_ERR_ARG);
    report_exact("malloc(NULL ctx): ERR_ARG", sae4j_cuda_malloc(nullptr, 64, &s) != nullptr || s != SAE4J_CUDA_ERR_ARG);
    report_exact("kernels on a NULL ctx: ERR_ARG",
                 (sae4j_cuda_sync(nullptr) != SAE4J_CUDA_ERR_ARG) +
                     (sae4j_cuda_fill_f32(nullptr, nullptr, 4, 0.f) != SAE4J_CUDA_ERR_ARG) +
                     (sae4j_cuda_adam_step(nullptr, 4, nullptr, nullptr, nullptr, nullptr, 0.1f, 0.9f, 0.99f, 1e-8f, 1) != SAE4J_CUDA_ERR_ARG));
    report_exact("cosine_max_workspace needs no device", sae4j_cuda_cosine_max_workspace(3, 4, 5) <= 0);
    report_exact("coact_create(NULL ctx): ERR_ARG",
                 sae4j_cuda_coact_create(nullptr, 3, 4, 5, &s) != nullptr || s != SAE4J_CUDA_ERR_ARG);
    printf("%d passed, %d failed (no device: the GPU checks were skipped)\n", g_checks - g_failed, g_failed);
    return g_failed ? 1 : 77;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--quick")) {
            g_quick = true;
            g_api_errors = false;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            g_only = argv[++i];
        } else {
            printf("usage: %s [--quick] [--only GROUP]\n", argv[0]);
            return 2;
        }
    }
    int count = 0, cuda_error = 0;
    const int st = sae4j_cuda_probe(&count, &cuda_error);
    if (st != SAE4J_CUDA_OK) return no_device(st, cuda_error);
    int cs = 0;
    g_ctx = sae4j_cuda_ctx_create(0, &cs);
    if (!g_ctx) die("sae4j_cuda_ctx_create(0)", cs);

    if (want("context")) test_context(count);
    if (want("elementwise")) {
        test_elementwise(37, 45, 1);
        test_elementwise(1, 1, 2);
        if (!g_quick) test_elementwise(259, 96, 3);
        test_sum_sq_dev_mean();
    }
    if (want("adam")) {
        test_adam(1001, 1, 4);
        test_adam(1, 1000, 5);
    }
    if (want("errors")) {
        test_batch_errors();
        test_cosine_errors();
        test_topk_errors();
    }
    if (want("sae-sparse")) test_sae_storage(37, 45, 133, SAE4J_CUDA_LATENTS_SPARSE, "SPARSE", 21);
    if (want("sae-dense")) test_sae_storage(37, 45, 133, SAE4J_CUDA_LATENTS_DENSE, "DENSE", 22);
    if (want("sae-auto")) test_sae_auto(37, 45, 133);
    if (want("sae-edge")) {
        test_sae_storage(1, 1, 1, SAE4J_CUDA_LATENTS_SPARSE, "SPARSE firing", 23, 1.5f);
        test_sae_storage(1, 1, 1, SAE4J_CUDA_LATENTS_DENSE, "DENSE firing", 24, 1.5f);
        test_sae_storage(3, 2, 5, SAE4J_CUDA_LATENTS_SPARSE, "SPARSE silent", 25, -5.f);
        test_sae_storage(3, 2, 5, SAE4J_CUDA_LATENTS_DENSE, "DENSE silent", 26, -5.f);
    }
    if (want("topk-epilogue")) {
        test_topk_epilogue(37, 133, 9, SAE4J_CUDA_LATENTS_SPARSE, "SPARSE", 31);
        test_topk_epilogue(37, 133, 9, SAE4J_CUDA_LATENTS_DENSE, "DENSE", 32);
        test_topk_epilogue(5, 1, 1, SAE4J_CUDA_LATENTS_SPARSE, "m=1", 33);
        test_topk_epilogue(4, 300, 300, SAE4J_CUDA_LATENTS_AUTO, "k=m", 34);
        test_topk_epilogue(3, 600, 300, SAE4J_CUDA_LATENTS_SPARSE, "ties across chunks", 36);
        if (!g_quick) test_topk_epilogue(65, 4099, 64, SAE4J_CUDA_LATENTS_AUTO, "large", 35);
    }
    if (want("auxk")) {
        test_auxk(37, 45, 133, 29, 5, 1.f, "cut", 41);          // k_aux below the dead latents: the selection cuts
        test_auxk(37, 45, 133, 7, 12, 1.f / 32, "all kept", 42);  // k_aux above them: every positive is kept
        test_auxk(1, 1, 1, 1, 1, 1.f, "1x1", 43);
        if (!g_quick) test_auxk(130, 96, 1031, 300, 48, 1.f / 32, "large", 44);
        test_auxk_bad_list();
    }
    if (!g_quick && want("sae-large")) {
        test_sae_storage(259, 96, 1031, SAE4J_CUDA_LATENTS_SPARSE, "SPARSE", 27);
        test_sae_storage(259, 96, 1031, SAE4J_CUDA_LATENTS_DENSE, "DENSE", 28);
    }
    if (want("normalise"))
        for (bool cols : {false, true})
            for (bool center : {false, true}) {
                test_normalise(37, 45, cols, center);
                test_normalise(1, 1, cols, center);
            }
    if (want("cosine"))
        for (int prec : {SAE4J_CUDA_COSINE_FP32, SAE4J_CUDA_COSINE_TF32})
            for (bool center : {false, true}) {
                test_cosine(1, 1, 1, false, false, center, prec, 31);
                test_cosine(2, 133, 7, false, true, center, prec, 36);
                for (bool ac : {false, true})
                    for (bool bc : {false, true}) {
                        if (g_quick && ac != bc) continue;
                        test_cosine(300, 517, 45, ac, bc, center, prec, 32);
                    }
            }
    if (!g_quick && want("cosine-large")) {
        test_cosine(700, 260, 70, true, false, true, SAE4J_CUDA_COSINE_FP32, 33);
        test_cosine(259, 385, 96, false, true, false, SAE4J_CUDA_COSINE_TF32, 34);
        test_cosine(1031, 37, 33, false, false, false, SAE4J_CUDA_COSINE_FP32, 35);
    }

    if (want("topk"))
        for (bool absolute : {false, true}) {
            test_topk(300, 517, 7, 5, absolute, 37);      // 3 row blocks; lanes with 16 and 17 columns
            test_topk(130, 70, SAE4J_CUDA_TOPK_MAX, SAE4J_CUDA_TOPK_MAX, absolute, 38);  // lists longer than a lane's share
            test_topk(1, 1, 1, 1, absolute, 39);
            if (!g_quick) test_topk(205, 2100, 33, 64, absolute, 40);
        }

    if (want("coact")) {
        test_coact(37, 53, {{29, 0}, {64, 0}, {5, 0}}, "three batches", 51, true);
        test_coact(300, 300, {{1, 0}, {30, 1}, {9, 2}, {20, 0}}, "m1 = m2, silent sides, a 1-row batch", 52, false);
        test_coact(40, 290, {{50, 0}, {3, 0}}, "m2 over 256", 54, false);
        if (!g_quick) test_coact(300, 1031, {{200, 0}, {513, 0}}, "large", 53, false);
    }

    const int final_sync = sae4j_cuda_sync(g_ctx);
    expect_status("final sync (no asynchronous error)", final_sync, SAE4J_CUDA_OK);
    sae4j_cuda_ctx_destroy(g_ctx);
    printf("%d passed, %d failed\n", g_checks - g_failed, g_failed);
    return g_failed ? 1 : 0;
}
