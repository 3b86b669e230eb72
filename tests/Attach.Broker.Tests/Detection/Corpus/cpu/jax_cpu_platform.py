import jax
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp
print(jax.devices("cpu"))
jnp.linalg.norm(jnp.ones(10))
