"""Test problems (placeholder until the core-data branch lands)."""
