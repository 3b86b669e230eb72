import platform
import torch

print("python", platform.python_version())
print("torch", torch.__version__, "built with CUDA", torch.version.cuda)
