import os
import torch.distributed as dist

local_rank = int(os.environ.get("LOCAL_RANK", 0))
torch.cuda.set_device(local_rank)
dist.init_process_group(backend="nccl")
model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank])
