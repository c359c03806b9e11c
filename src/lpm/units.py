"""Unit constants shared by every package (a leaf module: it imports nothing)."""

#: Joules in one kilowatt-hour.
J_PER_KWH = 3.6e6
