/* Batch verification of ECDSA signatures by keys already known (oracle_bridge/native/_hotpath.c).
 *
 * A signature (r, s, v) of digest z by key Q is what ecrecover accepts exactly when
 * R = (z/s)·G + (r/s)·Q, where R is the curve point with x = r and the y parity v - 27.
 * For n signatures and random 128-bit a_i, the batch holds exactly when
 *
 *     Σ a_i·R_i − (Σ a_i·z_i/s_i)·G − Σ_keys (Σ_{i by key} a_i·r_i/s_i)·Q = ∞,
 *
 * one multi-scalar multiplication (Pippenger) instead of n recoveries: about a quarter of
 * the work for a few hundred signatures. If any signature is false the sum is ∞ with
 * probability 2^-128 at most (the a_i are drawn from the kernel after the signatures are
 * fixed), so a batch that fails says only "some signature is false": the caller then checks
 * each one alone. The 1/s_i come from one inversion (Montgomery's trick).
 *
 * libsecp256k1's internals (field, group, scalar, ecmult_multi_var) are compiled in from its
 * source as bundled in the npm package `secp256k1` (package.json); its symbols stay hidden
 * (-fvisibility=hidden) beside the coincurve build the rest of the bridge uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "secp256k1.c"

#include "_batch_verify.h"

static secp256k1_context *context;

int batch_verify_init(void) {
    if (!context) context = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    return context != NULL;
}

typedef struct {
    const secp256k1_scalar *scalars;
    const secp256k1_ge *points;
} Terms;

static int term(secp256k1_scalar *scalar, secp256k1_ge *point, size_t index, void *data) {
    const Terms *terms = data;
    *scalar = terms->scalars[index];
    *point = terms->points[index];
    return 1;
}

static int random_bytes(unsigned char *out, size_t length) {
    while (length > 0) {
        ssize_t got = getrandom(out, length, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        out += got;
        length -= (size_t)got;
    }
    return 1;
}

/* Room for Pippenger's or Strauss' algorithm over `points` points, whichever it picks. */
static size_t scratch_size(size_t points) {
    size_t pippenger = secp256k1_pippenger_scratch_size(points, secp256k1_pippenger_bucket_window(points)) +
                       PIPPENGER_SCRATCH_OBJECTS * ALIGNMENT;
    size_t strauss = secp256k1_strauss_scratch_size(points) + STRAUSS_SCRATCH_OBJECTS * ALIGNMENT;
    return pippenger > strauss ? pippenger : strauss;
}

int batch_verify(size_t count, const BatchSignature *signatures, size_t key_count,
                 const unsigned char (*keys)[64]) {
    if (!context || count == 0) return 0;
    size_t points = count + key_count;
    secp256k1_scalar *scalars = malloc(points * sizeof *scalars);
    secp256k1_scalar *prefix = malloc(count * sizeof *prefix);
    secp256k1_ge *curve_points = malloc(points * sizeof *curve_points);
    unsigned char *coefficients = malloc(count * 16);
    secp256k1_scratch_space *scratch = secp256k1_scratch_space_create(context, scratch_size(points));
    int ok = scalars && prefix && curve_points && coefficients && scratch &&
             random_bytes(coefficients, count * 16);

    /* The keys' points; their scalars gather Σ a_i·r_i/s_i below. */
    secp256k1_scalar *key_scalars = scalars + count;
    for (size_t k = 0; ok && k < key_count; k++) {
        secp256k1_fe x, y;
        ok = secp256k1_fe_set_b32(&x, keys[k]) && secp256k1_fe_set_b32(&y, keys[k] + 32);
        if (!ok) break;
        secp256k1_ge_set_xy(&curve_points[count + k], &x, &y);
        ok = secp256k1_ge_is_valid_var(&curve_points[count + k]);
        secp256k1_scalar_set_int(&key_scalars[k], 0);
    }

    /* 1/s_i for every i from one inversion: prefix[i] = s_0·…·s_{i-1}. */
    secp256k1_scalar product, inverse, g_scalar;
    secp256k1_scalar_set_int(&product, 1);
    for (size_t i = 0; ok && i < count; i++) {
        secp256k1_scalar s;
        int overflow;
        secp256k1_scalar_set_b32(&s, signatures[i].signature + 32, &overflow);
        ok = !overflow && !secp256k1_scalar_is_zero(&s) && signatures[i].key < key_count;
        prefix[i] = product;
        secp256k1_scalar_mul(&product, &product, &s);
    }
    if (ok) secp256k1_scalar_inverse_var(&inverse, &product);
    secp256k1_scalar_set_int(&g_scalar, 0);
    for (size_t i = count; ok && i-- > 0;) {
        const BatchSignature *item = &signatures[i];
        secp256k1_scalar r, s, z, a, s_inverse, weight;
        unsigned char coefficient[32] = {0};
        int overflow;
        secp256k1_scalar_set_b32(&r, item->signature, &overflow);
        ok = !overflow && !secp256k1_scalar_is_zero(&r);
        secp256k1_scalar_set_b32(&s, item->signature + 32, NULL);
        secp256k1_scalar_mul(&s_inverse, &inverse, &prefix[i]); /* 1/(s_0…s_i) · s_0…s_{i-1} */
        secp256k1_scalar_mul(&inverse, &inverse, &s);           /* now 1/(s_0…s_{i-1}) */
        memcpy(coefficient + 16, coefficients + 16 * i, 16);
        secp256k1_scalar_set_b32(&a, coefficient, NULL);
        if (secp256k1_scalar_is_zero(&a)) secp256k1_scalar_set_int(&a, 1);
        secp256k1_scalar_mul(&weight, &a, &s_inverse);           /* a_i/s_i */
        secp256k1_scalar_set_b32(&z, item->digest, NULL);        /* the digest mod n, as ecrecover */
        secp256k1_scalar_mul(&z, &z, &weight);
        secp256k1_scalar_add(&g_scalar, &g_scalar, &z);
        secp256k1_scalar_mul(&weight, &weight, &r);
        secp256k1_scalar_add(&key_scalars[item->key], &key_scalars[item->key], &weight);
        /* R_i: x = r (v is 27 or 28, so never r + n), y of the signature's parity. */
        secp256k1_fe x;
        ok = ok && item->parity <= 1 && secp256k1_fe_set_b32(&x, item->signature) &&
             secp256k1_ge_set_xo_var(&curve_points[i], &x, item->parity);
        secp256k1_scalar_negate(&scalars[i], &a);
    }

    secp256k1_gej sum;
    if (ok) {
        Terms terms = {scalars, curve_points};
        ok = secp256k1_ecmult_multi_var(&context->error_callback, &context->ecmult_ctx, scratch,
                                        &sum, &g_scalar, term, &terms, points) &&
             secp256k1_gej_is_infinity(&sum);
    }
    if (scratch) secp256k1_scratch_space_destroy(context, scratch);
    free(scalars);
    free(prefix);
    free(curve_points);
    free(coefficients);
    return ok;
}
