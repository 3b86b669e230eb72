import jax
import jax.numpy as jnp

gpu = jax.devices('gpu')[0]
x = jax.device_put(jnp.arange(1e6), gpu)
print(jnp.dot(x, x))
