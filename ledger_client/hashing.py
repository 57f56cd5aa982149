"""keccak256, the Ethereum hash, fast enough for the reading hot path.

pycryptodome's `keccak.new` spends ~10 µs per call building and freeing its hash object;
its C core driven directly, with one reusable state per thread, takes ~3 µs. That matters
because verifying one reading hashes four times (struct, digest, public key, checksum).
"""

from __future__ import annotations

import threading

from Crypto.Hash import keccak as _keccak
from Crypto.Util import _raw_api

_CAPACITY_BYTES = 64  # keccak256: capacity = 2 x digest size
_ROUNDS = 24
_KECCAK_PADDING = 0x01  # original Keccak padding (SHA3-256 uses 0x06)


def _keccak256_object(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


if _raw_api.backend == "cffi":
    _lib = _keccak._raw_keccak_lib  # type: ignore[attr-defined]  # private; not in its stubs
    _ffi = _raw_api.ffi

    class _ThreadState(threading.local):
        def __init__(self) -> None:
            holder = _ffi.new("void **")
            if _lib.keccak_init(holder, _CAPACITY_BYTES, _ROUNDS):
                raise RuntimeError("keccak_init failed")
            self.state = _ffi.gc(holder[0], _lib.keccak_destroy)
            self.out = _ffi.new("uint8_t[32]")
            self.view = _ffi.buffer(self.out)

    _thread_state = _ThreadState()

    def keccak256(data: bytes) -> bytes:
        """The 32-byte keccak256 hash of `data`."""
        local = _thread_state
        state = local.state
        _lib.keccak_reset(state)
        _lib.keccak_absorb(state, data, len(data))
        _lib.keccak_digest(state, local.out, 32, _KECCAK_PADDING)
        return local.view[:]

else:  # pycryptodome fell back to ctypes (e.g. python -OO): use its public API
    keccak256 = _keccak256_object
