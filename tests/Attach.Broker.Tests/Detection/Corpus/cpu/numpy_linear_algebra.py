import numpy as np

rng = np.random.default_rng(42)
A = rng.normal(size=(500, 500))
b = rng.normal(size=500)
x = np.linalg.solve(A, b)
print("residual:", np.linalg.norm(A @ x - b))
eigvals = np.linalg.eigvalsh(A @ A.T)
eigvals[-5:]
