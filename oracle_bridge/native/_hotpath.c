/* The bridge's per-reading hot path in C, without the GIL:
 * - `screen_many`: a batch of raw readings parsed, hashed (EIP-712) and their signatures
 *   recovered (oracle_bridge/screening.py);
 * - `window_root`: the Merkle root of a window's readings (oracle_bridge/merkle.py);
 * - `draft_window`: a pair's next anchoring window when it changes nothing but the pair's last
 *   seq and timestamp (oracle_bridge/windows/drafting.py): planned, rule-checked, packed and hashed.
 *
 * Screening only ever says yes: a reading in the exact shape devices send that passes every check of
 * `oracle_bridge.screening.screen` comes back as its fields; anything else (malformed, escaped,
 * oversized, a bad or foreign signature, a future timestamp, an unusual spelling) comes back
 * as None, and the Python `screen` decides it and words the refusal. So this file needs no
 * error messages and cannot refuse what Python would accept.
 *
 * Drafting likewise only ever says yes: a window in which any reading would do more than
 * advance the pair's last seq and timestamp under the rule engine (or that anything else
 * makes unusual) comes back as None, and the Python drafting decides it.
 *
 * The cryptography is the libraries the Python side already uses, looked up at run time:
 * libsecp256k1 as bundled in coincurve, keccak as bundled in pycryptodome. Built WITH_BATCH_VERIFY
 * (setup.py), screening remembers each device's key once a signature recovered to the device,
 * and verifies the later readings of known devices in one batch (_batch_verify.c).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef WITH_BATCH_VERIFY
#include <pthread.h>

#include "_batch_verify.h"
#endif

/* libsecp256k1's public API (include/secp256k1.h, secp256k1_recovery.h). */
typedef struct secp256k1_context_struct secp256k1_context;
typedef struct { unsigned char data[64]; } secp256k1_pubkey;
typedef struct { unsigned char data[65]; } secp256k1_ecdsa_recoverable_signature;
#define SECP256K1_CONTEXT_VERIFY 0x0101u
#define SECP256K1_EC_UNCOMPRESSED 0x0002u

static secp256k1_context *(*secp_context_create)(unsigned int flags);
static int (*secp_parse_compact)(const secp256k1_context *, secp256k1_ecdsa_recoverable_signature *,
                                 const unsigned char *input64, int recid);
static int (*secp_recover)(const secp256k1_context *, secp256k1_pubkey *,
                           const secp256k1_ecdsa_recoverable_signature *, const unsigned char *msg32);
static int (*secp_serialize)(const secp256k1_context *, unsigned char *output, size_t *outputlen,
                             const secp256k1_pubkey *, unsigned int flags);
static secp256k1_context *secp_context;

/* pycryptodome's keccak core (Crypto/Hash/keccak.py declares the same). */
static int (*keccak_init)(void **state, size_t capacity_bytes, uint8_t rounds);
static int (*keccak_destroy)(void *state);
static int (*keccak_absorb)(void *state, const uint8_t *in, size_t len);
static int (*keccak_digest)(void *state, uint8_t *digest, size_t len, uint8_t padding);
static int (*keccak_reset)(void *state);

/* secp256k1's group order n and n/2, big-endian: r must be in (0, n), s in (0, n/2]. */
static const unsigned char ORDER[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
static const unsigned char HALF_ORDER[32] = {
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0};
static const unsigned char ZERO[32] = {0};

#define INT24_MIN (-8388608LL)
#define INT24_MAX 8388607LL
#define UINT16_MAX_ 65535LL
/* Integers of up to 18 digits fit an int64 with room; longer ones go to Python. */
#define MAX_DIGITS 18

enum { F_DEVICE, F_BATCH, F_SEQ, F_TIMESTAMP, F_TEMP, F_HUMIDITY, F_SIGNATURE, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {
    "device", "batchId", "seq", "timestamp", "tempMilliC", "humidityPermille", "signature"};

typedef struct {
    const unsigned char *device_text; /* the 42 characters "0x..." as sent */
    unsigned char device[20];
    unsigned char batch_id[32];
    long long seq, timestamp, temp, humidity;
    unsigned char signature[65];
    unsigned char digest[32];
    int ok;
} Screened;

/* Whether `load` bound the libraries; if not, a RuntimeError is set. */
static int loaded(void) {
    if (secp_context && keccak_init) return 1;
    PyErr_SetString(PyExc_RuntimeError, "call load() first");
    return 0;
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static const unsigned char *skip_space(const unsigned char *p, const unsigned char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* "0x" + 2*size hex digits + '"', the opening quote already consumed; NULL if not. */
static const unsigned char *parse_hex(const unsigned char *p, const unsigned char *end,
                                      unsigned char *out, size_t size) {
    if (end - p < (ptrdiff_t)(2 + 2 * size + 1) || p[0] != '0' || p[1] != 'x') return NULL;
    p += 2;
    for (size_t i = 0; i < size; i++) {
        int high = hex_value(p[2 * i]), low = hex_value(p[2 * i + 1]);
        if (high < 0 || low < 0) return NULL;
        out[i] = (unsigned char)(high << 4 | low);
    }
    p += 2 * size;
    return *p == '"' ? p + 1 : NULL;
}

/* A JSON integer in canonical form (no "-0", no leading zero, no fraction or exponent). */
static const unsigned char *parse_integer(const unsigned char *p, const unsigned char *end,
                                          long long *out) {
    int negative = 0;
    if (p < end && *p == '-') negative = 1, p++;
    const unsigned char *digits = p;
    long long value = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (p - digits == MAX_DIGITS) return NULL;
        value = value * 10 + (*p++ - '0');
    }
    size_t count = (size_t)(p - digits);
    if (count == 0 || (digits[0] == '0' && (count > 1 || negative))) return NULL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return NULL;
    *out = negative ? -value : value;
    return p;
}

static int parse_reading(const unsigned char *p, Py_ssize_t length, Screened *r) {
    const unsigned char *end = p + length;
    int seen[F_COUNT] = {0};
    p = skip_space(p, end);
    if (p == end || *p++ != '{') return 0;
    for (int fields = 0;; fields++) {
        p = skip_space(p, end);
        if (p == end || *p++ != '"') return 0;
        const unsigned char *key = p;
        while (p < end && *p != '"' && *p != '\\') p++;
        if (p == end || *p != '"') return 0;
        size_t key_length = (size_t)(p++ - key);
        int field = -1;
        for (int f = 0; f < F_COUNT; f++) {
            if (strlen(FIELD_NAMES[f]) == key_length && !memcmp(FIELD_NAMES[f], key, key_length)) {
                field = f;
                break;
            }
        }
        if (field < 0 || seen[field]) return 0;
        seen[field] = 1;
        p = skip_space(p, end);
        if (p == end || *p++ != ':') return 0;
        p = skip_space(p, end);
        if (p == end) return 0;
        switch (field) {
            case F_DEVICE:
                if (*p++ != '"') return 0;
                r->device_text = p;
                p = parse_hex(p, end, r->device, 20);
                break;
            case F_BATCH:
                if (*p++ != '"') return 0;
                p = parse_hex(p, end, r->batch_id, 32);
                break;
            case F_SIGNATURE:
                if (*p++ != '"') return 0;
                p = parse_hex(p, end, r->signature, 65);
                break;
            case F_SEQ:
                p = parse_integer(p, end, &r->seq);
                break;
            case F_TIMESTAMP:
                p = parse_integer(p, end, &r->timestamp);
                break;
            case F_TEMP:
                p = parse_integer(p, end, &r->temp);
                break;
            case F_HUMIDITY:
                p = parse_integer(p, end, &r->humidity);
                break;
        }
        if (p == NULL) return 0;
        p = skip_space(p, end);
        if (p == end) return 0;
        if (*p == '}') {
            if (fields + 1 != F_COUNT) return 0;
            p = skip_space(p + 1, end);
            return p == end;
        }
        if (*p++ != ',') return 0;
    }
}

static void keccak256(void *state, const unsigned char *data, size_t length, unsigned char *out) {
    keccak_reset(state);
    keccak_absorb(state, data, length);
    keccak_digest(state, out, 32, 0x01);
}

static void put_word(unsigned char *word, long long value) {
    memset(word, value < 0 ? 0xFF : 0x00, 32);
    unsigned long long bits = (unsigned long long)value;
    for (int i = 31; i >= 24; i--, bits >>= 8) word[i] = (unsigned char)bits;
}

/* Every check of `screen` after the parse but the signature's signer; fills r->digest. */
static int check_reading(void *state, Screened *r, const unsigned char *type_hash,
                         const unsigned char *separator, double latest_timestamp) {
    if (r->seq < 0 || r->timestamp < 0 || r->humidity < 0 || r->humidity > UINT16_MAX_ ||
        r->temp < INT24_MIN || r->temp > INT24_MAX || (double)r->timestamp > latest_timestamp)
        return 0;
    const unsigned char *s = r->signature;
    unsigned char v = s[64];
    if ((v != 27 && v != 28) || !memcmp(s, ZERO, 32) || memcmp(s, ORDER, 32) >= 0 ||
        !memcmp(s + 32, ZERO, 32) || memcmp(s + 32, HALF_ORDER, 32) > 0)
        return 0;

    unsigned char encoded[7 * 32], message[2 + 32 + 32];
    memcpy(encoded, type_hash, 32);
    memset(encoded + 32, 0, 12);
    memcpy(encoded + 44, r->device, 20);
    memcpy(encoded + 64, r->batch_id, 32);
    put_word(encoded + 96, r->seq);
    put_word(encoded + 128, r->timestamp);
    put_word(encoded + 160, r->temp);
    put_word(encoded + 192, r->humidity);
    message[0] = 0x19, message[1] = 0x01;
    memcpy(message + 2, separator, 32);
    keccak256(state, encoded, sizeof encoded, message + 34);
    keccak256(state, message, sizeof message, r->digest);
    return 1;
}

/* Whether the key recovered from the checked reading's signature is its device's; if so and
 * `key` is given, the key (x || y) goes there. */
static int recovers_device(void *state, const Screened *r, unsigned char *key) {
    secp256k1_ecdsa_recoverable_signature signature;
    secp256k1_pubkey recovered;
    unsigned char public_key[65], key_hash[32];
    size_t key_length = sizeof public_key;
    if (!secp_parse_compact(secp_context, &signature, r->signature, r->signature[64] - 27) ||
        !secp_recover(secp_context, &recovered, &signature, r->digest) ||
        !secp_serialize(secp_context, public_key, &key_length, &recovered,
                        SECP256K1_EC_UNCOMPRESSED))
        return 0;
    keccak256(state, public_key + 1, 64, key_hash);
    if (memcmp(key_hash + 12, r->device, 20)) return 0;
    if (key) memcpy(key, public_key + 1, 64);
    return 1;
}

#ifdef WITH_BATCH_VERIFY
/* The devices' public keys, each learnt from a signature that recovered to the device's address
 * (so a key here is its device's): readings of known devices are verified in one batch
 * (_batch_verify.c) instead of one recovery each. Open addressing, shared by the threads of a
 * process under a mutex; a look-up probes at most KEY_PROBES slots (addresses ground to collide
 * only miss the cache: their readings are recovered one by one, as without it) and the table
 * starts afresh when half full. */
#define KEY_SLOTS 65536
#define KEY_PROBES 16
typedef struct {
    unsigned char device[20];
    unsigned char key[64];
    unsigned char used;
} KnownKey;
static KnownKey *known_keys;
static size_t known_count;
static int batch_ready;
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t device_slot(const unsigned char *device, size_t slots) {
    uint64_t prefix;
    memcpy(&prefix, device, sizeof prefix);
    return (size_t)(prefix * 0x9E3779B97F4A7C15ULL >> 32) & (slots - 1);
}

/* Copies the device's known key into `key`; 0 if not known. Call with known_lock held. */
static int known_key(const unsigned char *device, unsigned char *key) {
    if (!known_keys) return 0;
    for (size_t probe = 0, slot = device_slot(device, KEY_SLOTS); probe < KEY_PROBES;
         probe++, slot = (slot + 1) & (KEY_SLOTS - 1)) {
        KnownKey *entry = &known_keys[slot];
        if (!entry->used) return 0;
        if (!memcmp(entry->device, device, 20)) {
            memcpy(key, entry->key, 64);
            return 1;
        }
    }
    return 0;
}

/* Remembers the device's key (recovered from its own signature). Call with known_lock held. */
static void remember_key(const unsigned char *device, const unsigned char *key) {
    if (!known_keys && !(known_keys = calloc(KEY_SLOTS, sizeof *known_keys))) return;
    if (known_count >= KEY_SLOTS / 2) {
        memset(known_keys, 0, KEY_SLOTS * sizeof *known_keys);
        known_count = 0;
    }
    for (size_t probe = 0, slot = device_slot(device, KEY_SLOTS); probe < KEY_PROBES;
         probe++, slot = (slot + 1) & (KEY_SLOTS - 1)) {
        KnownKey *entry = &known_keys[slot];
        if (entry->used && memcmp(entry->device, device, 20)) continue;
        if (!entry->used) known_count++;
        memcpy(entry->device, device, 20);
        memcpy(entry->key, key, 64);
        entry->used = 1;
        return;
    }
}

/* This batch's distinct devices, each with its index into the batch's keys. */
typedef struct {
    const unsigned char *device;
    size_t key;
} BatchDevice;

/* The key index of `device` in this batch, adding `key` as a new one if the device is new. */
static size_t batch_key(BatchDevice *devices, size_t slots, unsigned char (*keys)[64],
                        size_t *key_count, const unsigned char *device, const unsigned char *key) {
    size_t slot = device_slot(device, slots);
    while (devices[slot].device && memcmp(devices[slot].device, device, 20))
        slot = (slot + 1) & (slots - 1);
    if (!devices[slot].device) {
        devices[slot].device = device;
        devices[slot].key = *key_count;
        memcpy(keys[(*key_count)++], key, 64);
    }
    return devices[slot].key;
}

/* Decides r->ok for the checked readings: those of devices with known keys in one batch
 * (each alone if the batch fails), the rest recovered one by one (their keys remembered). */
static void verify_signers(void *state, Screened *screened, Py_ssize_t count) {
    size_t slots = 2;
    while (slots < 2 * (size_t)count) slots <<= 1;
    BatchSignature *batch = malloc(count * sizeof *batch);
    unsigned char(*keys)[64] = malloc(count * sizeof *keys);
    BatchDevice *devices = calloc(slots, sizeof *devices);
    Screened **batched = malloc(count * sizeof *batched);
    size_t batch_count = 0, key_count = 0;
    int can_batch = batch && keys && devices && batched;
    for (Py_ssize_t i = 0; i < count; i++) {
        Screened *r = &screened[i];
        if (!r->ok) continue;
        unsigned char key[64];
        pthread_mutex_lock(&known_lock);
        int known = can_batch && known_key(r->device, key);
        pthread_mutex_unlock(&known_lock);
        if (known) {
            batch[batch_count] = (BatchSignature){
                r->signature, r->digest, (unsigned char)(r->signature[64] - 27),
                batch_key(devices, slots, keys, &key_count, r->device, key)};
            batched[batch_count++] = r;
        } else if ((r->ok = recovers_device(state, r, key))) {
            pthread_mutex_lock(&known_lock);
            remember_key(r->device, key);
            pthread_mutex_unlock(&known_lock);
        }
    }
    if (batch_count && !batch_verify(batch_count, batch, key_count, (const unsigned char(*)[64])keys))
        for (size_t j = 0; j < batch_count; j++) batched[j]->ok = recovers_device(state, batched[j], NULL);
    free(batch);
    free(keys);
    free(devices);
    free(batched);
}
#endif

static PyObject *screen_many(PyObject *self, PyObject *args) {
    PyObject *raws;
    Py_buffer type_hash, separator;
    double latest_timestamp;
    Py_ssize_t max_bytes;
    if (!loaded()) return NULL;
    if (!PyArg_ParseTuple(args, "Oy*y*dn", &raws, &type_hash, &separator, &latest_timestamp,
                          &max_bytes))
        return NULL;
    PyObject *result = NULL, *items = NULL;
    Screened *screened = NULL;
    const unsigned char **texts = NULL;
    Py_ssize_t *lengths = NULL, count = 0;
    void *state = NULL;
    if (type_hash.len != 32 || separator.len != 32) {
        PyErr_SetString(PyExc_ValueError, "the type hash and separator are 32 bytes");
        goto done;
    }
    /* Own references to the items: another thread may change the list without the GIL. */
    items = PySequence_Tuple(raws);
    if (!items) goto done;
    count = PyTuple_GET_SIZE(items);
    screened = PyMem_Calloc(count ? count : 1, sizeof *screened);
    texts = PyMem_Calloc(count ? count : 1, sizeof *texts);
    lengths = PyMem_Calloc(count ? count : 1, sizeof *lengths);
    if (!screened || !texts || !lengths) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *raw = PyTuple_GET_ITEM(items, i);
        if (!PyBytes_Check(raw)) {
            PyErr_SetString(PyExc_TypeError, "raw readings are bytes");
            goto done;
        }
        texts[i] = (const unsigned char *)PyBytes_AS_STRING(raw);
        lengths[i] = PyBytes_GET_SIZE(raw);
    }
    if (keccak_init(&state, 64, 24)) {
        PyErr_SetString(PyExc_RuntimeError, "keccak_init failed");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        Screened *r = &screened[i];
        r->ok = lengths[i] <= max_bytes && parse_reading(texts[i], lengths[i], r) &&
                check_reading(state, r, type_hash.buf, separator.buf, latest_timestamp);
    }
#ifdef WITH_BATCH_VERIFY
    if (batch_ready)
        verify_signers(state, screened, count);
    else
#endif
        for (Py_ssize_t i = 0; i < count; i++)
            if (screened[i].ok) screened[i].ok = recovers_device(state, &screened[i], NULL);
    Py_END_ALLOW_THREADS
    result = PyList_New(count);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        Screened *r = &screened[i];
        PyObject *item;
        if (r->ok) {
            item = Py_BuildValue("(s#y#LLLLy#y#)", (const char *)r->device_text, (Py_ssize_t)42,
                                 (const char *)r->batch_id, (Py_ssize_t)32, r->seq, r->timestamp,
                                 r->temp, r->humidity, (const char *)r->signature, (Py_ssize_t)65,
                                 (const char *)r->digest, (Py_ssize_t)32);
            if (!item) {
                Py_CLEAR(result);
                goto done;
            }
        } else {
            item = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(result, i, item);
    }
done:
    if (state) keccak_destroy(state);
    PyMem_Free(screened);
    PyMem_Free(texts);
    PyMem_Free(lengths);
    Py_XDECREF(items);
    PyBuffer_Release(&type_hash);
    PyBuffer_Release(&separator);
    return result;
}

typedef struct {
    unsigned long long seq, timestamp, humidity;
    long long temp;
} WindowReading;

static void put_unsigned_word(unsigned char *word, unsigned long long value) {
    memset(word, 0, 24);
    for (int i = 31; i >= 24; i--, value >>= 8) word[i] = (unsigned char)value;
}

/* The buffers of the (type hash, device, batch id) that name a window's readings. */
static void release_window_key(Py_buffer *type_hash, Py_buffer *device, Py_buffer *batch_id) {
    PyBuffer_Release(type_hash);
    PyBuffer_Release(device);
    PyBuffer_Release(batch_id);
}

/* The Merkle root of `count` readings of one device and batch into nodes[0..32) (`nodes` has
 * room for `count` hashes): a leaf is keccak256(hashStruct(reading)), a parent keccak256 of
 * its two children in byte order, an unpaired last node moves up (merkle.py). */
static void merkle_root(void *state, const unsigned char *type_hash, const unsigned char *device,
                        const unsigned char *batch_id, const WindowReading *fields,
                        Py_ssize_t count, unsigned char *nodes) {
    unsigned char encoded[7 * 32], struct_hash[32], pair[64];
    memcpy(encoded, type_hash, 32);
    memset(encoded + 32, 0, 12);
    memcpy(encoded + 44, device, 20);
    memcpy(encoded + 64, batch_id, 32);
    for (Py_ssize_t i = 0; i < count; i++) {
        put_unsigned_word(encoded + 96, fields[i].seq);
        put_unsigned_word(encoded + 128, fields[i].timestamp);
        put_word(encoded + 160, fields[i].temp);
        put_unsigned_word(encoded + 192, fields[i].humidity);
        keccak256(state, encoded, sizeof encoded, struct_hash);
        keccak256(state, struct_hash, 32, nodes + 32 * i);
    }
    for (Py_ssize_t level = count; level > 1; level = (level + 1) / 2) {
        for (Py_ssize_t j = 0; j < level / 2; j++) {
            const unsigned char *a = nodes + 64 * j, *b = a + 32;
            int ordered = memcmp(a, b, 32) < 0;
            memcpy(pair, ordered ? a : b, 32);
            memcpy(pair + 32, ordered ? b : a, 32);
            keccak256(state, pair, 64, nodes + 32 * j);
        }
        if (level % 2) memmove(nodes + 32 * (level / 2), nodes + 32 * (level - 1), 32);
    }
}

/* The Merkle root over one window's readings (one device, one batch), exactly as
 * `MerkleTree(leaves(readings)).root` (merkle.py): a leaf is keccak256(hashStruct(reading)),
 * a parent keccak256 of its two children in byte order, an unpaired last node moves up. */
static PyObject *window_root(PyObject *self, PyObject *args) {
    Py_buffer type_hash, device, batch_id;
    PyObject *readings, *items = NULL, *result = NULL;
    WindowReading *fields = NULL;
    unsigned char *nodes = NULL;
    void *state = NULL;
    if (!loaded()) return NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*O", &type_hash, &device, &batch_id, &readings)) return NULL;
    if (type_hash.len != 32 || device.len != 20 || batch_id.len != 32) {
        PyErr_SetString(PyExc_ValueError, "a 32-byte type hash, 20-byte device, 32-byte batch id");
        goto done;
    }
    items = PySequence_Fast(readings, "readings are (seq, timestamp, temp, humidity) tuples");
    if (!items) goto done;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    if (count == 0) {
        PyErr_SetString(PyExc_ValueError, "a Merkle tree needs at least one leaf");
        goto done;
    }
    fields = PyMem_Calloc(count, sizeof *fields);
    nodes = PyMem_Malloc(count * 32);
    if (!fields || !nodes) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *reading = PySequence_Fast_GET_ITEM(items, i);
        if (!PyTuple_Check(reading) || PyTuple_GET_SIZE(reading) != 4) {
            PyErr_SetString(PyExc_TypeError, "readings are (seq, timestamp, temp, humidity) tuples");
            goto done;
        }
        WindowReading *r = &fields[i];
        r->seq = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(reading, 0));
        r->timestamp = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(reading, 1));
        r->temp = PyLong_AsLongLong(PyTuple_GET_ITEM(reading, 2));
        r->humidity = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(reading, 3));
        if (PyErr_Occurred()) goto done;
    }
    if (keccak_init(&state, 64, 24)) {
        PyErr_SetString(PyExc_RuntimeError, "keccak_init failed");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    merkle_root(state, type_hash.buf, device.buf, batch_id.buf, fields, count, nodes);
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)nodes, 32);
done:
    if (state) keccak_destroy(state);
    PyMem_Free(fields);
    PyMem_Free(nodes);
    Py_XDECREF(items);
    release_window_key(&type_hash, &device, &batch_id);
    return result;
}

/* A pending reading as `_draft_pair` holds it: (id, seq, timestamp, temp, humidity, signature,
 * received_at), the id and signature unused here. */
typedef struct {
    long long seq, timestamp, temp, humidity;
    double received_at;
} PendingReading;

static int pending_reading(PyObject *row, PendingReading *r) {
    if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != 7) return 0;
    r->seq = PyLong_AsLongLong(PyTuple_GET_ITEM(row, 1));
    r->timestamp = PyLong_AsLongLong(PyTuple_GET_ITEM(row, 2));
    r->temp = PyLong_AsLongLong(PyTuple_GET_ITEM(row, 3));
    r->humidity = PyLong_AsLongLong(PyTuple_GET_ITEM(row, 4));
    r->received_at = PyFloat_AsDouble(PyTuple_GET_ITEM(row, 6));
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return r->seq >= 0 && r->timestamp >= 0 && r->humidity >= 0 && r->humidity <= UINT16_MAX_;
}

/* The longest run `plan_window` would take from `r[0..limit)`: contiguous seqs, cut before
 * the first reading packing refuses (*cut set); 0 when the first one cannot be packed. */
static Py_ssize_t plan_run(const PendingReading *r, Py_ssize_t limit, int *cut) {
    *cut = 0;
    if (r[0].temp < INT24_MIN || r[0].temp > INT24_MAX) return 0;
    for (Py_ssize_t i = 1; i < limit; i++) {
        if (r[i].seq != r[i - 1].seq + 1) return i;
        long long delta = r[i].timestamp - r[i - 1].timestamp;
        if (r[i].temp < INT24_MIN || r[i].temp > INT24_MAX || delta < 0 || delta > 65535) {
            *cut = 1;
            return i;
        }
    }
    return limit;
}

typedef struct {
    long long min, max, hard_min, hard_max, allowed_excursion, max_data_gap;
} Rule;

/* Whether every reading gets decision NONE from `rules.evaluate` and leaves the pair out of
 * an excursion (RULES.md), starting from (*last_seq, *last_timestamp), which it advances. */
static int all_in_range(const PendingReading *r, Py_ssize_t count, const Rule *rule,
                        long long *last_seq, long long *last_timestamp) {
    for (Py_ssize_t i = 0; i < count; i++) {
        if (r[i].seq <= *last_seq || r[i].timestamp < *last_timestamp) return 0;
        if (r[i].temp < rule->min || r[i].temp > rule->max) return 0; /* hard limits lie outside */
        if (rule->max_data_gap > 0 && *last_seq != 0 && r[i].seq == *last_seq + 1 &&
            r[i].timestamp - *last_timestamp > rule->max_data_gap)
            return 0;
        *last_seq = r[i].seq, *last_timestamp = r[i].timestamp;
    }
    return 1;
}

static void put_big_endian(unsigned char *out, unsigned long long value, int bytes) {
    for (int i = bytes - 1; i >= 0; i--, value >>= 8) out[i] = (unsigned char)value;
}

/* packing.pack of a planned run: [device][first timestamp] then 7 bytes a reading. */
static void pack_run(const PendingReading *r, Py_ssize_t count, const unsigned char *device,
                     unsigned char *out) {
    memcpy(out, device, 20);
    put_big_endian(out + 20, (unsigned long long)r[0].timestamp, 8);
    for (Py_ssize_t i = 0; i < count; i++) {
        unsigned char *record = out + 28 + 7 * i;
        put_big_endian(record, i ? (unsigned long long)(r[i].timestamp - r[i - 1].timestamp) : 0, 2);
        put_big_endian(record + 2, (unsigned long long)r[i].temp & 0xFFFFFF, 3);
        put_big_endian(record + 5, (unsigned long long)r[i].humidity, 2);
    }
}

/* draft_window(type_hash, device, batch_id, rows, start, max_readings, now, max_age_s, rule,
 * state): the window `windows.drafting._next_window` would draft from rows[start:] when it changes
 * nothing but the pair's last seq and timestamp, as (count, packed, merkle_root, last_seq,
 * last_timestamp); 0 when no window is due there; None when Python must decide. */
static PyObject *draft_window(PyObject *self, PyObject *args) {
    Py_buffer type_hash, device, batch_id;
    PyObject *rows, *items = NULL, *result = NULL, *packed = NULL;
    Py_ssize_t start, max_readings;
    double now, max_age_s;
    Rule rule;
    long long last_seq, last_timestamp;
    int in_excursion;
    PendingReading *pending = NULL;
    WindowReading *fields = NULL;
    unsigned char *nodes = NULL;
    void *state = NULL;
    if (!loaded()) return NULL;
    int require_calibration; /* the device policy's business, not drafting's */
    if (!PyArg_ParseTuple(args, "y*y*y*Onndd(LLLLLLp)(LLp)", &type_hash, &device, &batch_id,
                          &rows, &start, &max_readings, &now, &max_age_s, &rule.min, &rule.max,
                          &rule.hard_min, &rule.hard_max, &rule.allowed_excursion,
                          &rule.max_data_gap, &require_calibration, &last_seq, &last_timestamp,
                          &in_excursion))
        return NULL;
    if (type_hash.len != 32 || device.len != 20 || batch_id.len != 32) {
        PyErr_SetString(PyExc_ValueError, "a 32-byte type hash, 20-byte device, 32-byte batch id");
        goto done;
    }
    items = PySequence_Fast(rows, "rows are the pending readings' tuples");
    if (!items) goto done;
    Py_ssize_t available = PySequence_Fast_GET_SIZE(items) - start;
    if (start < 0 || available < 1) {
        PyErr_SetString(PyExc_IndexError, "start is not the index of a pending reading");
        goto done;
    }
    Py_ssize_t limit = available < max_readings ? available : max_readings;
    if (limit < 1) limit = 1;
    pending = PyMem_Calloc(limit, sizeof *pending);
    if (!pending) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t parsed = 0;
    for (; parsed < limit; parsed++) {
        if (!pending_reading(PySequence_Fast_GET_ITEM(items, start + parsed), &pending[parsed]))
            break;
    }
    /* A reading that does not parse is Python's to judge, unless the run ends before it. */
    int cut;
    Py_ssize_t count = plan_run(pending, parsed ? parsed : 1, &cut);
    if (!parsed || !count || (count == parsed && parsed < limit && !cut)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    double oldest = pending[0].received_at;
    for (Py_ssize_t i = 1; i < count; i++)
        if (pending[i].received_at < oldest) oldest = pending[i].received_at;
    if (!(count == max_readings || cut || now - oldest >= max_age_s)) {
        result = PyLong_FromLong(0);
        goto done;
    }
    if (in_excursion || !all_in_range(pending, count, &rule, &last_seq, &last_timestamp)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    packed = PyBytes_FromStringAndSize(NULL, 28 + 7 * count);
    fields = PyMem_Calloc(count, sizeof *fields);
    nodes = PyMem_Malloc(count * 32);
    if (!packed || !fields || !nodes) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        fields[i].seq = (unsigned long long)pending[i].seq;
        fields[i].timestamp = (unsigned long long)pending[i].timestamp;
        fields[i].temp = pending[i].temp;
        fields[i].humidity = (unsigned long long)pending[i].humidity;
    }
    if (keccak_init(&state, 64, 24)) {
        PyErr_SetString(PyExc_RuntimeError, "keccak_init failed");
        goto done;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(packed);
    Py_BEGIN_ALLOW_THREADS
    pack_run(pending, count, device.buf, out);
    merkle_root(state, type_hash.buf, device.buf, batch_id.buf, fields, count, nodes);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(nOy#LL)", count, packed, (const char *)nodes, (Py_ssize_t)32,
                           last_seq, last_timestamp);
done:
    if (state) keccak_destroy(state);
    Py_XDECREF(packed);
    PyMem_Free(pending);
    PyMem_Free(fields);
    PyMem_Free(nodes);
    Py_XDECREF(items);
    release_window_key(&type_hash, &device, &batch_id);
    return result;
}

static void *symbol(void *library, const char *name) {
    void *found = dlsym(library, name);
    if (!found) PyErr_Format(PyExc_ImportError, "%s: %s", name, dlerror());
    return found;
}

static PyObject *load(PyObject *self, PyObject *args) {
    const char *secp_path, *keccak_path;
    if (!PyArg_ParseTuple(args, "ss", &secp_path, &keccak_path)) return NULL;
    if (secp_context) Py_RETURN_NONE;
    void *secp = dlopen(secp_path, RTLD_NOW | RTLD_LOCAL);
    void *keccak = dlopen(keccak_path, RTLD_NOW | RTLD_LOCAL);
    if (!secp || !keccak) return PyErr_Format(PyExc_ImportError, "dlopen: %s", dlerror());
    if (!(*(void **)&secp_context_create = symbol(secp, "secp256k1_context_create")) ||
        !(*(void **)&secp_parse_compact =
              symbol(secp, "secp256k1_ecdsa_recoverable_signature_parse_compact")) ||
        !(*(void **)&secp_recover = symbol(secp, "secp256k1_ecdsa_recover")) ||
        !(*(void **)&secp_serialize = symbol(secp, "secp256k1_ec_pubkey_serialize")) ||
        !(*(void **)&keccak_destroy = symbol(keccak, "keccak_destroy")) ||
        !(*(void **)&keccak_absorb = symbol(keccak, "keccak_absorb")) ||
        !(*(void **)&keccak_digest = symbol(keccak, "keccak_digest")) ||
        !(*(void **)&keccak_reset = symbol(keccak, "keccak_reset")) ||
        !(*(void **)&keccak_init = symbol(keccak, "keccak_init")))
        return NULL;
    secp_context = secp_context_create(SECP256K1_CONTEXT_VERIFY);
    if (!secp_context) return PyErr_Format(PyExc_ImportError, "secp256k1_context_create failed");
#ifdef WITH_BATCH_VERIFY
    batch_ready = batch_verify_init();
#endif
    Py_RETURN_NONE;
}

#ifdef WITH_BATCH_VERIFY
/* Forgets every device key learnt (tests: the next readings are recovered one by one). */
static PyObject *forget_keys(PyObject *self, PyObject *unused) {
    pthread_mutex_lock(&known_lock);
    if (known_keys) memset(known_keys, 0, KEY_SLOTS * sizeof *known_keys);
    known_count = 0;
    pthread_mutex_unlock(&known_lock);
    Py_RETURN_NONE;
}

/* `batch_verify` on its own, for tests: keys are 64-byte x || y, items (signature65, digest,
 * key index). */
static PyObject *verify_batch(PyObject *self, PyObject *args) {
    PyObject *key_list, *item_list, *keys_seq = NULL, *items_seq = NULL, *result = NULL;
    if (!batch_ready) {
        PyErr_SetString(PyExc_RuntimeError, "batch verification is not loaded");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OO", &key_list, &item_list)) return NULL;
    keys_seq = PySequence_Fast(key_list, "keys are a sequence");
    items_seq = PySequence_Fast(item_list, "items are a sequence");
    if (!keys_seq || !items_seq) goto done;
    Py_ssize_t key_count = PySequence_Fast_GET_SIZE(keys_seq);
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items_seq);
    unsigned char(*keys)[64] = PyMem_Calloc(key_count ? key_count : 1, 64);
    BatchSignature *batch = PyMem_Calloc(count ? count : 1, sizeof *batch);
    if (!keys || !batch) {
        PyErr_NoMemory();
        goto free_arrays;
    }
    for (Py_ssize_t k = 0; k < key_count; k++) {
        PyObject *key = PySequence_Fast_GET_ITEM(keys_seq, k);
        if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) != 64) {
            PyErr_SetString(PyExc_ValueError, "a key is 64 bytes x || y");
            goto free_arrays;
        }
        memcpy(keys[k], PyBytes_AS_STRING(key), 64);
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        const char *signature, *digest;
        Py_ssize_t signature_length, digest_length, key;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(items_seq, i), "y#y#n", &signature,
                              &signature_length, &digest, &digest_length, &key))
            goto free_arrays;
        if (signature_length != 65 || digest_length != 32 || key < 0 || key >= key_count ||
            (unsigned char)signature[64] < 27) {
            PyErr_SetString(PyExc_ValueError, "an item is (65-byte signature, 32-byte digest, key)");
            goto free_arrays;
        }
        batch[i] = (BatchSignature){(const unsigned char *)signature,
                                    (const unsigned char *)digest,
                                    (unsigned char)(signature[64] - 27), (size_t)key};
    }
    int verified;
    Py_BEGIN_ALLOW_THREADS
    verified = batch_verify(count, batch, key_count, (const unsigned char(*)[64])keys);
    Py_END_ALLOW_THREADS
    result = PyBool_FromLong(verified);
free_arrays:
    PyMem_Free(keys);
    PyMem_Free(batch);
done:
    Py_XDECREF(keys_seq);
    Py_XDECREF(items_seq);
    return result;
}
#endif

static PyMethodDef methods[] = {
    {"load", load, METH_VARARGS,
     "load(secp256k1_library, keccak_library): bind the cryptography libraries, once."},
    {"screen_many", screen_many, METH_VARARGS,
     "screen_many(raws, type_hash, separator, latest_timestamp, max_bytes) -> list of\n"
     "(device_text, batch_id, seq, timestamp, temp, humidity, signature, digest) or None."},
    {"window_root", window_root, METH_VARARGS,
     "window_root(type_hash, device, batch_id, readings) -> the 32-byte Merkle root of a\n"
     "window's readings, each (seq, timestamp, temp, humidity)."},
    {"draft_window", draft_window, METH_VARARGS,
     "draft_window(type_hash, device, batch_id, rows, start, max_readings, now, max_age_s, rule,\n"
     "state) -> (count, packed, merkle_root, last_seq, last_timestamp), 0 (not due) or None."},
#ifdef WITH_BATCH_VERIFY
    {"forget_keys", forget_keys, METH_NOARGS, "forget_keys(): forget the device keys learnt."},
    {"verify_batch", verify_batch, METH_VARARGS,
     "verify_batch(keys, items) -> whether every (signature, digest, key index) verifies."},
#endif
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "oracle_bridge.native._hotpath",
                                    "The bridge's per-reading hot path (see _hotpath.c).", -1, methods};

PyMODINIT_FUNC PyInit__hotpath(void) {
    PyObject *created = PyModule_Create(&module);
#ifdef WITH_BATCH_VERIFY
    const long batch = 1;
#else
    const long batch = 0;
#endif
    if (created && PyModule_AddIntConstant(created, "BATCH_VERIFY", batch)) Py_CLEAR(created);
#ifdef LIBSECP256K1_VERSION
    /* The libsecp256k1 source compiled in for batch verification (setup.py names it). */
    if (created && PyModule_AddStringConstant(created, "LIBSECP256K1_VERSION", LIBSECP256K1_VERSION))
        Py_CLEAR(created);
#endif
    return created;
}
