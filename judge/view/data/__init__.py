"""What each page shows, read from the store and the run indexes (no HTML here)."""
