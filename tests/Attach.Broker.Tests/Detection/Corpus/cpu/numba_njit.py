from numba import njit, prange
import numpy as np


@njit(parallel=True)
def pairwise_distance(points):
    n = points.shape[0]
    out = np.empty((n, n))
    for i in prange(n):
        for j in range(n):
            out[i, j] = np.sqrt(((points[i] - points[j]) ** 2).sum())
    return out


pairwise_distance(np.random.rand(2000, 3)).mean()
