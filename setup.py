"""The build step pyproject.toml cannot yet declare without a warning: the optional C kernel.

`app/engine/kernel.c` (the LSTM layer in one call) is built next to its loader,
`app/engine/compiled.py`, which opens it with ctypes. Optional: without a C compiler the
install goes on, and the NumPy engine, its reference, serves (the service logs which).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "app.engine._kernel",
            ["app/engine/kernel.c"],
            # No floating-point traps (nothing here reads them): GCC then vectorises the
            # tanh's clamp for AVX2 too, which halves the kernel's time there.
            extra_compile_args=["-O3", "-fno-trapping-math"],
            optional=True,
        )
    ]
)
