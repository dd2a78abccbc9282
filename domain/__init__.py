"""Pure models and rules shared by workflows, activities and the CLI (no I/O)."""
