print(f"allocated: {torch.cuda.memory_allocated() / 2**20:.0f} MiB")
print(f"reserved:  {torch.cuda.memory_reserved() / 2**20:.0f} MiB")
print(f"peak:      {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
