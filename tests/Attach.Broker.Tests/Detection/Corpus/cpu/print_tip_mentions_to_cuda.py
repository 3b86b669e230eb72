print("Tip: once you have a GPU, move the model with model.to('cuda') and re-run the cell.")
