"""The one compiled module: the bridge's screening hot path (oracle_bridge/_screen.c).

Optional: where it cannot be built, the bridge screens in pure Python, only slower.
Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "oracle_bridge._screen",
            ["oracle_bridge/_screen.c"],
            extra_compile_args=["-O2"],
            libraries=["dl"],
            optional=True,
        )
    ]
)
