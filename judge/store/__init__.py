"""DuckDB storage: migrations, connections, typed rows, crash-safe batched writes, every read the pipeline makes."""
