import torch

x = torch.randn(3, 4)
w = torch.randn(4, 2, requires_grad=True)
y = (x @ w).sum()
y.backward()
print(w.grad)
print(x.device, x.is_cuda)
