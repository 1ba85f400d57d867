"""Photos of every owner (visits, audit items, rectifications): validation and re-encoding of
uploads (pure), the upload pipeline, storage and the org-wide duplicate lookup."""
