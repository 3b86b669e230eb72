rank = int(os.environ["RANK"])
model = Net().to(f"cuda:{rank}")
ddp_model = DDP(model, device_ids=[rank])
