"""What the agent calls: image decoding, CLIP embedding, the Chroma store, the indexer, search and captioning."""
