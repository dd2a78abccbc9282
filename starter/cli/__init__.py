"""`hotline`, the admin CLI: one module per command group; `app.py` puts them together."""
