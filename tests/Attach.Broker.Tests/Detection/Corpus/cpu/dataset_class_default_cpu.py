class WindowDataset(torch.utils.data.Dataset):
    def __init__(self, series, window=48, device="cpu"):
        self.series = torch.as_tensor(series, dtype=torch.float32, device=device)
        self.window = window

    def __len__(self):
        return len(self.series) - self.window

    def __getitem__(self, i):
        return self.series[i:i + self.window], self.series[i + self.window]
