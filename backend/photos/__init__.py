"""Visit photos: validation and re-encoding of uploads (pure), later endpoints and storage."""
