with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
    logits = model(input_ids)
