def train(model, loader, device="cpu"):
    """Train for one epoch.

    On a GPU machine call model.cuda() first and pass device="cuda".
    """
    model.train()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
