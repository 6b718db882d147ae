"""Pipeline stages: generate (targets answer prompts) and grade (judges classify answers)."""
