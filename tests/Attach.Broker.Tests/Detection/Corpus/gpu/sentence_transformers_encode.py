from sentence_transformers import SentenceTransformer

encoder = SentenceTransformer("all-MiniLM-L6-v2", device="cuda")
embeddings = encoder.encode(docs, batch_size=256, show_progress_bar=True)
embeddings.shape
