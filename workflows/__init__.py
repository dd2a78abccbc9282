"""The durable processes, one module each, in the domain's words; `registry.py` lists them for the worker."""
