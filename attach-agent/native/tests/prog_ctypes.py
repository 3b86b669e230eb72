"""A Python program that reaches the driver as ctypes users (and cupy, numba) do: dlopen + dlsym(handle, "cuInit").

Extra arguments are ignored; the tests pass a Jupyter connection file (-f .../kernel-<id>.json) to check that
the shim takes its session from it.
"""
import ctypes

driver = ctypes.CDLL("libcuda.so.1")
print("cuInit=%d" % driver.cuInit(0), flush=True)
