jobs = pd.read_json("cluster_jobs.jsonl", lines=True)
gpu_jobs = jobs[jobs.device == "cuda"]
print(f"{len(gpu_jobs)} of {len(jobs)} jobs asked for a GPU")
gpu_jobs.groupby("user").gpu_hours.sum().nlargest(10)
