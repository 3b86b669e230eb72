import lightning as L

trainer = L.Trainer(accelerator="gpu", devices=1, max_epochs=10, precision="16-mixed")
trainer.fit(lit_model, datamodule=dm)
