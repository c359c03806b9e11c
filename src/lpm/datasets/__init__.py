"""lpm.datasets."""
