title = "Run #42: CUDA out of memory on batch 512, retried with batch 256"
notes.append(title)
print(title.upper())
