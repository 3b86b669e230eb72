import os
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import torch
model = torch.hub.load("pytorch/vision", "mobilenet_v3_small", weights="DEFAULT")
