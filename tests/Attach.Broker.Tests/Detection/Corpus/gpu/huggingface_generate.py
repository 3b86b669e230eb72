prompt = "Explain the difference between a process and a thread."
inputs = tokenizer(prompt, return_tensors="pt").to('cuda')
output_ids = model.generate(**inputs, max_new_tokens=200, do_sample=False)
print(tokenizer.decode(output_ids[0], skip_special_tokens=True))
