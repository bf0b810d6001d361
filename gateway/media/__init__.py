"""Product media: where image bytes are stored, how uploads are checked, how resized
copies are made (once) and served."""
