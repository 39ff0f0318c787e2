"""Monte Carlo validation of both designs on redrawn embedded data (docs/validation.md)."""
