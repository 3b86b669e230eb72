!pip install --quiet cupy-cuda12x==13.3.0 numba
