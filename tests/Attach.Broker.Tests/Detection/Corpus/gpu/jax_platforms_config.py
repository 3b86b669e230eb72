import jax
jax.config.update("jax_platforms", "cuda")

import jax.numpy as jnp
key = jax.random.PRNGKey(0)
x = jax.random.normal(key, (5000, 5000))
%timeit jnp.dot(x, x.T).block_until_ready()
