import torch
import torch.nn as nn
from torch.utils.data import DataLoader

device = "cuda"
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    for images, labels in DataLoader(train_ds, batch_size=128, shuffle=True):
        images, labels = images.view(images.size(0), -1).to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")
