import tensorflow as tf

# Keep this notebook on the CPU: it only preprocesses data.
tf.config.set_visible_devices([], 'GPU')
ds = tf.data.Dataset.from_tensor_slices((images, labels)).map(augment).batch(32)
