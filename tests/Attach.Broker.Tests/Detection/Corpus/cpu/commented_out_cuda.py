model = Net()
# model.cuda()
# x = x.to("cuda")
# torch.cuda.synchronize()
# !nvidia-smi
out = model(x)  # was: model(x.cuda())
