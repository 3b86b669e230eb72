torch.cuda.reset_peak_memory_stats()
_ = model(sample_batch)
print(f"forward pass peak: {torch.cuda.max_memory_reserved() / 1e9:.2f} GB")
