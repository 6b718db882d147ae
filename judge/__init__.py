"""judge: an LLM-as-judge grading pipeline for AI safety evaluations.

Data flow, visible in the package layout:
prompts/ (load prompt sets) → stages/generate.py (targets answer) → stages/grade.py (judges classify)
→ store/ (DuckDB) → analysis/ (metrics, reports). providers/ is the one boundary to models.
"""

__version__ = "0.1.0"
