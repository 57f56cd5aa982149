/* Batch verification of ECDSA signatures by known keys (_batch_verify.c). */
#ifndef ORACLE_BRIDGE_BATCH_VERIFY_H
#define ORACLE_BRIDGE_BATCH_VERIFY_H

#include <stddef.h>

typedef struct {
    const unsigned char *signature; /* r || s, 64 bytes big-endian */
    const unsigned char *digest;    /* the 32 bytes signed */
    unsigned char parity;           /* v - 27: the y parity of the point R */
    size_t key;                     /* index into the keys */
} BatchSignature;

/* Builds the verification context once; 0 if it could not. */
int batch_verify_init(void);

/* 1 if every signature is its key's (x || y, 64 bytes) signature of its digest, as
 * ecrecover would find it; 0 if some is not (or r, s, a key or memory is unusable). */
int batch_verify(size_t count, const BatchSignature *signatures, size_t key_count,
                 const unsigned char (*keys)[64]);

#endif
