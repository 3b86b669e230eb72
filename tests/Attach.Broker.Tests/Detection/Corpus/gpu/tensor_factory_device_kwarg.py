# Quick sanity check of the attention kernel
q = torch.randn(8, 16, 1024, 64, device="cuda", dtype=torch.bfloat16)
k = torch.randn_like(q)
v = torch.randn_like(q)
out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
out.shape
