"""lpm.energy."""
