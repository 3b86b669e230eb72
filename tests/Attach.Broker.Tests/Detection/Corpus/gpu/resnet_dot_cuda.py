import torchvision

model = torchvision.models.resnet18(weights="IMAGENET1K_V1").cuda()
model.eval()

correct = 0
with torch.no_grad():
    for inputs, labels in val_loader:
        inputs, labels = inputs.cuda(), labels.cuda()
        preds = model(inputs).argmax(dim=1)
        correct += (preds == labels).sum().item()
print(f"top-1: {correct / len(val_loader.dataset):.3%}")
