"""The kopf edge: thin handlers, the per-object sync loop, kopf settings and `run`."""
