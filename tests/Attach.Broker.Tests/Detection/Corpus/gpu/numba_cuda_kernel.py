from numba import cuda
import numpy as np


@cuda.jit
def add_kernel(x, y, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = x[i] + y[i]


n = 1_000_000
x = np.arange(n, dtype=np.float32)
y = 2 * x
out = np.empty_like(x)
threads = 256
blocks = (n + threads - 1) // threads
add_kernel[blocks, threads](x, y, out)
print(out[:5])
