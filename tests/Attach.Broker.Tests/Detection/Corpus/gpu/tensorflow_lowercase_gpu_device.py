with tf.device("/gpu:0"):
    logits = model(images, training=False)
