"""Pure decisions: the next step for a deployment, and how its status reads (no I/O, no clock)."""
