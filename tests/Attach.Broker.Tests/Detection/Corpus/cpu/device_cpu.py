device = "cpu"
model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for x, y in loader:
    x, y = x.to(device), y.to(device)
    optimizer.zero_grad()
    F.mse_loss(model(x), y).backward()
    optimizer.step()
