batch = {k: v.to("cuda:1", non_blocking=True) for k, v in batch.items()}
logits = model(**batch).logits
