state = torch.load("checkpoints/best.pt", map_location="cuda")
model.load_state_dict(state["model"])
