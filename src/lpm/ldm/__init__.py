"""lpm.ldm."""
