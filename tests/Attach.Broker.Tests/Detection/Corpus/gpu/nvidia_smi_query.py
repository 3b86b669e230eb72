!nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv
