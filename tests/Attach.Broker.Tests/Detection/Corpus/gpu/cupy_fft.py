import cupy as cp
import numpy as np

signal = cp.asarray(np.load("signal.npy"))
spectrum = cp.fft.rfft(signal)
power = cp.abs(spectrum) ** 2
peak = int(cp.argmax(power))
print("dominant frequency bin:", peak)
