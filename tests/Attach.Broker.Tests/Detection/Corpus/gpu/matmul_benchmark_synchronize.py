import time

a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)

torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(50):
    c = a @ b
torch.cuda.synchronize()
elapsed = time.perf_counter() - start
print(f"{2 * 8192**3 * 50 / elapsed / 1e12:.1f} TFLOP/s")
