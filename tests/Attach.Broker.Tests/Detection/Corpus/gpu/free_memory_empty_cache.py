import gc

del model, optimizer
gc.collect()
torch.cuda.empty_cache()
