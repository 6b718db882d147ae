"""Provider batch APIs (OpenAI Batch, Anthropic Message Batches) for models with `batch: true`.

runner.py is what the stages call; openai_batch.py / anthropic_batch.py speak the providers' SDKs;
answers.py turns one batch answer into a Generation or a JudgeResult; store.py keeps the batch ids
in DuckDB so a restarted run polls the batch it already submitted instead of paying twice.
"""
