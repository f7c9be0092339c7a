"""Games played with handplay."""
