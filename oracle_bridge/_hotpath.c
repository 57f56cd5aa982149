/* The bridge's per-reading hot path in C, without the GIL:
 * - `screen_many`: a batch of raw readings parsed, hashed (EIP-712) and their signatures
 *   recovered (oracle_bridge/screening.py);
 * - `window_root`: the Merkle root of a window's readings (oracle_bridge/merkle.py).
 *
 * Screening only ever says yes: a reading in the exact shape devices send that passes every check of
 * `oracle_bridge.screening.screen` comes back as its fields; anything else (malformed, escaped,
 * oversized, a bad or foreign signature, a future timestamp, an unusual spelling) comes back
 * as None, and the Python `screen` decides it and words the refusal. So this file needs no
 * error messages and cannot refuse what Python would accept.
 *
 * The cryptography is the libraries the Python side already uses, looked up at run time:
 * libsecp256k1 as bundled in coincurve, keccak as bundled in pycryptodome.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Every check of `screen` after the parse; fills r->digest. */
static int verify_reading(void *state, Screened *r, const unsigned char *type_hash,
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

    secp256k1_ecdsa_recoverable_signature signature;
    secp256k1_pubkey key;
    unsigned char public_key[65], key_hash[32];
    size_t key_length = sizeof public_key;
    if (!secp_parse_compact(secp_context, &signature, s, v - 27) ||
        !secp_recover(secp_context, &key, &signature, r->digest) ||
        !secp_serialize(secp_context, public_key, &key_length, &key, SECP256K1_EC_UNCOMPRESSED))
        return 0;
    keccak256(state, public_key + 1, 64, key_hash);
    return !memcmp(key_hash + 12, r->device, 20);
}

static PyObject *screen_many(PyObject *self, PyObject *args) {
    PyObject *raws;
    Py_buffer type_hash, separator;
    double latest_timestamp;
    Py_ssize_t max_bytes;
    if (!secp_context || !keccak_init) {
        PyErr_SetString(PyExc_RuntimeError, "call load() first");
        return NULL;
    }
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
                verify_reading(state, r, type_hash.buf, separator.buf, latest_timestamp);
    }
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

/* The Merkle root over one window's readings (one device, one batch), exactly as
 * `MerkleTree(leaves(readings)).root` (merkle.py): a leaf is keccak256(hashStruct(reading)),
 * a parent keccak256 of its two children in byte order, an unpaired last node moves up. */
static PyObject *window_root(PyObject *self, PyObject *args) {
    Py_buffer type_hash, device, batch_id;
    PyObject *readings, *items = NULL, *result = NULL;
    WindowReading *fields = NULL;
    unsigned char *nodes = NULL;
    void *state = NULL;
    if (!keccak_init) {
        PyErr_SetString(PyExc_RuntimeError, "call load() first");
        return NULL;
    }
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
    unsigned char encoded[7 * 32], struct_hash[32], pair[64];
    memcpy(encoded, type_hash.buf, 32);
    memset(encoded + 32, 0, 12);
    memcpy(encoded + 44, device.buf, 20);
    memcpy(encoded + 64, batch_id.buf, 32);
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
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)nodes, 32);
done:
    if (state) keccak_destroy(state);
    PyMem_Free(fields);
    PyMem_Free(nodes);
    Py_XDECREF(items);
    PyBuffer_Release(&type_hash);
    PyBuffer_Release(&device);
    PyBuffer_Release(&batch_id);
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
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"load", load, METH_VARARGS,
     "load(secp256k1_library, keccak_library): bind the cryptography libraries, once."},
    {"screen_many", screen_many, METH_VARARGS,
     "screen_many(raws, type_hash, separator, latest_timestamp, max_bytes) -> list of\n"
     "(device_text, batch_id, seq, timestamp, temp, humidity, signature, digest) or None."},
    {"window_root", window_root, METH_VARARGS,
     "window_root(type_hash, device, batch_id, readings) -> the 32-byte Merkle root of a\n"
     "window's readings, each (seq, timestamp, temp, humidity)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "oracle_bridge._hotpath",
                                    "The bridge's per-reading hot path (see _hotpath.c).", -1, methods};

PyMODINIT_FUNC PyInit__hotpath(void) { return PyModule_Create(&module); }
