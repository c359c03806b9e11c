"""lpm.report."""
