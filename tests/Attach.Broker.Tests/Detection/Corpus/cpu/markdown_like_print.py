print("""
## Environment
- Python 3.12, CUDA 12.4 drivers on the cluster
- GPU runs are scheduled for next week
""")
