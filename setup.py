"""The one compiled module: the bridge's per-reading hot path (oracle_bridge/native/_hotpath.c).

The build fails when it does not compile (set PROVENANCE_NATIVE_OPTIONAL=1 to install
without it: the bridge then runs its pure-Python reference, only slower), and refuses any
machine but 64-bit x86, for which libsecp256k1's settings below are written. Batch signature
verification (oracle_bridge/native/_batch_verify.c) compiles in libsecp256k1's source as the
npm package `secp256k1` (package.json) bundles it, so `make install` fetches the Node
packages first; its version is compiled into the module (`LIBSECP256K1_VERSION`).
Everything else is in pyproject.toml.
"""

import json
import os
import platform
import re
from pathlib import Path

from setuptools import Extension, setup

NPM_SECP256K1 = Path(__file__).parent / "node_modules" / "secp256k1"
LIBSECP256K1 = NPM_SECP256K1 / "src" / "secp256k1"
NATIVE = "oracle_bridge/native"
OPTIONAL = os.environ.get("PROVENANCE_NATIVE_OPTIONAL") == "1"
# libsecp256k1's build settings for 64-bit x86 (as its npm package's binding.gyp has them).
LIBSECP256K1_MACROS = [
    ("ECMULT_GEN_PREC_BITS", "4"),
    ("ECMULT_WINDOW_SIZE", "15"),
    ("USE_ENDOMORPHISM", "1"),
    ("USE_NUM_NONE", "1"),
    ("USE_FIELD_INV_BUILTIN", "1"),
    ("USE_SCALAR_INV_BUILTIN", "1"),
    ("HAVE___INT128", "1"),
    ("USE_ASM_X86_64", "1"),
    ("USE_FIELD_5X52", "1"),
    ("USE_SCALAR_4X64", "1"),
    ("SECP256K1_API", ""),
    ("WITH_BATCH_VERIFY", "1"),
]


def libsecp256k1_version() -> str:
    """The bundled libsecp256k1's own version (its configure.ac) and the npm package's."""
    configure = (LIBSECP256K1 / "configure.ac").read_text()
    found = re.search(r"AC_INIT\(\[libsecp256k1\],\s*\[([^\]]+)\]", configure)
    if found is None:
        raise RuntimeError(f"no libsecp256k1 version in {LIBSECP256K1 / 'configure.ac'}")
    npm = json.loads((NPM_SECP256K1 / "package.json").read_text())["version"]
    return f"{found.group(1)} (npm secp256k1 {npm})"


def hotpath() -> list[Extension]:
    machine = platform.machine().lower()
    if machine not in {"x86_64", "amd64"}:
        if OPTIONAL:
            return []
        raise RuntimeError(
            f"oracle_bridge.native._hotpath is written for 64-bit x86, not {machine}: set"
            " PROVENANCE_NATIVE_OPTIONAL=1 to install without it (the bridge then runs its"
            " pure-Python reference, slower)"
        )
    sources, macros, include_dirs = [f"{NATIVE}/_hotpath.c"], [], []
    if (LIBSECP256K1 / "src" / "secp256k1.c").is_file():
        sources.append(f"{NATIVE}/_batch_verify.c")
        version = libsecp256k1_version()
        macros = [*LIBSECP256K1_MACROS, ("LIBSECP256K1_VERSION", json.dumps(version))]
        include_dirs = [str(LIBSECP256K1), str(LIBSECP256K1 / "src"), NATIVE]
    elif not OPTIONAL:
        raise RuntimeError(
            f"libsecp256k1's source is not at {LIBSECP256K1}: run `npm install` first (or set"
            " PROVENANCE_NATIVE_OPTIONAL=1 to build without batch verification)"
        )
    return [
        Extension(
            "oracle_bridge.native._hotpath",
            sources,
            define_macros=macros,
            include_dirs=include_dirs,
            # libsecp256k1's symbols stay inside the module, apart from coincurve's build.
            extra_compile_args=[
                "-O2",
                "-fvisibility=hidden",
                "-Wno-unused-function",
                "-Wno-nonnull-compare",
            ],
            libraries=["dl"],
            optional=OPTIONAL,
        )
    ]


setup(ext_modules=hotpath())
