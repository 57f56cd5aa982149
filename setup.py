"""The one compiled module: the bridge's per-reading hot path (oracle_bridge/_hotpath.c).

Optional: where it cannot be built, the bridge does the same in pure Python, only slower.
Batch signature verification (oracle_bridge/_batch_verify.c) is compiled in where
libsecp256k1's source is at hand: the npm package `secp256k1` (package.json) bundles it, so
`make install` fetches the Node packages first. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import Extension, setup

LIBSECP256K1 = Path(__file__).parent / "node_modules" / "secp256k1" / "src" / "secp256k1"
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


def hotpath() -> Extension:
    sources, macros, include_dirs = ["oracle_bridge/_hotpath.c"], [], []
    if (LIBSECP256K1 / "src" / "secp256k1.c").is_file():
        sources.append("oracle_bridge/_batch_verify.c")
        macros = LIBSECP256K1_MACROS
        include_dirs = [str(LIBSECP256K1), str(LIBSECP256K1 / "src"), "oracle_bridge"]
    return Extension(
        "oracle_bridge._hotpath",
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
        optional=True,
    )


setup(ext_modules=[hotpath()])
