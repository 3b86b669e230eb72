import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(history["loss"], label="train")
ax.plot(history["val_loss"], label="validation")
ax.set_xlabel("epoch")
ax.set_ylabel("loss")
ax.set_title("Training on GPU vs CPU")
ax.legend()
plt.show()
