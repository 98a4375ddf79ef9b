"""fnaf."""
