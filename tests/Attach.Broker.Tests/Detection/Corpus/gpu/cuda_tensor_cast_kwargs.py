x = torch.from_numpy(features).float().cuda(non_blocking=True)
y = torch.from_numpy(targets).long().cuda()
