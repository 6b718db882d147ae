"""DuckDB storage: migrations, connections, batched crash-safe writes and run bookkeeping."""
