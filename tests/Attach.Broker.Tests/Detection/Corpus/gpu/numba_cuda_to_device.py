import numba.cuda
import numpy as np

d_arr = numba.cuda.to_device(np.random.rand(10_000))
print(d_arr.copy_to_host().mean())
