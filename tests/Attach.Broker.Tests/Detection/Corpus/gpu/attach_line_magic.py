%attach
trainer.train()
