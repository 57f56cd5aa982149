"""The one compiled module: the bridge's per-reading hot path (oracle_bridge/_hotpath.c).

Optional: where it cannot be built, the bridge does the same in pure Python, only slower.
Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "oracle_bridge._hotpath",
            ["oracle_bridge/_hotpath.c"],
            extra_compile_args=["-O2"],
            libraries=["dl"],
            optional=True,
        )
    ]
)
