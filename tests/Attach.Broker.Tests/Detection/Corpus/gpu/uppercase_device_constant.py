DEVICE = "cuda"
BATCH_SIZE = 64

model = UNet(in_channels=3, out_channels=1).to(DEVICE)
