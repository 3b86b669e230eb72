if not torch.cuda.is_available():
    print("No GPU in this kernel yet: the next GPU cell will attach one.")
