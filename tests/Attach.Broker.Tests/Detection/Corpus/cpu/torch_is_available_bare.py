import torch
torch.cuda.is_available()
