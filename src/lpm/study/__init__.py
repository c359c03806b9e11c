"""lpm.study."""
