"""lpm.carbon."""
