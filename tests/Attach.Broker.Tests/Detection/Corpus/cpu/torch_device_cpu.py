device = torch.device("cpu")
state = torch.load("checkpoints/best.pt", map_location=device)
model.load_state_dict(state["model"])
model.eval()
