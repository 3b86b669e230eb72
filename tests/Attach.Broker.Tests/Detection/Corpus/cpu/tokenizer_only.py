from transformers import AutoTokenizer

tok = AutoTokenizer.from_pretrained("bert-base-uncased")
lengths = [len(tok(text)["input_ids"]) for text in corpus]
pd.Series(lengths).describe()
