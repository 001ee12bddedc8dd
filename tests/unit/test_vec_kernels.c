/* test_vec_kernels.c - every fast distance kernel against the scalar reference
 * (src/index/vec_kernels_*.c) on random data of many lengths, odd ones included, and the float16
 * conversions. */
#include "testutil.h"

#include <math.h>

#include "index/vec_kernels.h"

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void close_enough(float fast, float ref, float scale)
{
    float tol = 1e-4f * (fabsf(ref) + scale) + 1e-5f;
    if (fabsf(fast - ref) > tol) {
        print_error("fast %g ref %g\n", (double)fast, (double)ref);
        fail();
    }
}

static void test_fast_matches_ref(void **state)
{
    const struct vec_kernels *ref = &vec_kernels_ref;
    const struct vec_kernels *fast;
    static const size_t lens[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 96, 100, 127, 128, 129, 300, 768, 1023};
    float a[1024], b[1024], sc[1024];
    uint16_t h[1024];
    uint8_t c[1024];

    (void)state;
    if (!vec_cpu_has_avx2()) {
        skip();
        return;
    }
    fast = &vec_kernels_avx2;
    assert_ptr_equal(vec_kernels_best(), fast);
    for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
        for (int rep = 0; rep < 20; rep++) {
            size_t n = lens[t];
            /* unaligned starts: offset 1 */
            float *pa = a + (rep & 1), *pb = b + (rep & 1);
            if (n + 1 > 1024)
                n = 1023;
            for (size_t i = 0; i < n + 1; i++) {
                a[i] = frand() * 10.0f;
                b[i] = frand() * 10.0f;
                sc[i] = (frand() + 1.0f) * 0.05f;
                h[i] = vec_f32_to_f16(frand() * 10.0f);
                c[i] = (uint8_t)(rng & 0xff);
            }
            float sz = (float)n * 10.0f;
            close_enough(fast->l2_f32(pa, pb, n), ref->l2_f32(pa, pb, n), sz);
            close_enough(fast->dot_f32(pa, pb, n), ref->dot_f32(pa, pb, n), sz);
            close_enough(fast->l2_f16(pa, h + (rep & 1), n), ref->l2_f16(pa, h + (rep & 1), n), sz);
            close_enough(fast->dot_f16(pa, h + (rep & 1), n), ref->dot_f16(pa, h + (rep & 1), n), sz);
            close_enough(fast->l2_u8(pa, sc, c + (rep & 1), n), ref->l2_u8(pa, sc, c + (rep & 1), n), sz);
            close_enough(fast->dot_u8(pa, c + (rep & 1), n), ref->dot_u8(pa, c + (rep & 1), n), sz * 25.0f);
            /* four at once: four different (overlapping, unaligned) vectors */
            {
                const float *xf[4] = {pb, b + 2, a + 3, pb};
                const uint8_t *xc[4] = {c + (rep & 1), c + 1, c + 2, c};
                float got[4], want[4];
                if (n + 3 >= 1024)
                    continue;
                fast->l2_f32_x4(pa, xf, n, got);
                ref->l2_f32_x4(pa, xf, n, want);
                for (int j = 0; j < 4; j++) {
                    close_enough(got[j], want[j], sz);
                    close_enough(want[j], ref->l2_f32(pa, xf[j], n), sz);
                }
                fast->dot_f32_x4(pa, xf, n, got);
                ref->dot_f32_x4(pa, xf, n, want);
                for (int j = 0; j < 4; j++)
                    close_enough(got[j], want[j], sz);
                fast->l2_u8_x4(pa, sc, xc, n, got);
                ref->l2_u8_x4(pa, sc, xc, n, want);
                for (int j = 0; j < 4; j++)
                    close_enough(got[j], want[j], sz);
                fast->dot_u8_x4(pa, xc, n, got);
                ref->dot_u8_x4(pa, xc, n, want);
                for (int j = 0; j < 4; j++)
                    close_enough(got[j], want[j], sz * 25.0f);
            }
        }
    }
}

static void test_ref_values(void **state)
{
    const float a[3] = {1, 2, 3}, b[3] = {4, 6, 3};
    const uint8_t c[3] = {0, 10, 255};
    const float sc[3] = {1, 0.5f, 0.01f}, w[3] = {1, 2, 3};
    (void)state;
    assert_true(vec_kernels_ref.l2_f32(a, b, 3) == 25.0f);
    assert_true(vec_kernels_ref.dot_f32(a, b, 3) == 25.0f);
    assert_true(fabsf(vec_kernels_ref.dot_u8(w, c, 3) - (0 + 20 + 765)) < 1e-3f);
    /* r - scale * code: (1-0)^2 + (2-5)^2 + (3-2.55)^2 */
    assert_true(fabsf(vec_kernels_ref.l2_u8(a, sc, c, 3) - (1.0f + 9.0f + 0.2025f)) < 1e-4f);
}

static void test_f16_conversions(void **state)
{
    (void)state;
    assert_int_equal(vec_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(vec_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(vec_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(vec_f32_to_f16(1e6f), 0x7c00);
    assert_int_equal(vec_f32_to_f16(5.960464477539063e-8f), 0x0001);
    assert_true(vec_f16_to_f32(0x0001) == 5.960464477539063e-8f);
    assert_true(isnan(vec_f16_to_f32(vec_f32_to_f16(NAN))));
    /* every finite half round-trips exactly */
    for (uint32_t hb = 0; hb < 0x10000; hb++) {
        if ((hb & 0x7c00) == 0x7c00)
            continue;
        assert_int_equal(vec_f32_to_f16(vec_f16_to_f32((uint16_t)hb)), hb);
    }
    /* round to nearest even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 */
    assert_int_equal(vec_f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3c00);
    assert_int_equal(vec_f32_to_f16(1.0f + 3.0f / 2048.0f), 0x3c02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_matches_ref),
        cmocka_unit_test(test_ref_values),
        cmocka_unit_test(test_f16_conversions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
