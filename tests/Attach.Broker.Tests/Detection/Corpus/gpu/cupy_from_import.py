from cupy import asarray, asnumpy

gpu_matrix = asarray(features)
gram = gpu_matrix @ gpu_matrix.T
gram_host = asnumpy(gram)
