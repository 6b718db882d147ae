"""The one boundary to models: every target and judge, remote or built-in, is reached through here.

`resolve_target(spec) -> TargetModel` and `resolve_judge(spec) -> JudgeModel` (registry.py) return
objects with the same async interface whatever the provider: `await target.generate(prompt,
messages) -> Generation` and `await judge.grade(JudgeRequest) -> JudgeResult`. Behind them: the lean
transport for openai/ and anthropic/ models (lean.py), litellm and instructor for every other
provider and for `batch: true` models (litellm_backend.py), replay and builtin offline (offline.py),
cascades and abstention (cascade.py). Every type and Protocol that crosses the boundary is in base.py:
`TargetModel`, `JudgeModel`, `BatchCapable` (the optional `batch_api()` of a model with a provider
batch API; `batch_api_of(model)` is None for online models) and `CallGate`: remote models reserve
every HTTP request (re-asks included) with the run's gate (`CALL_GATE`) before it is sent, which is
how budgets hold. Optional attributes the pipeline reads when present: `impl_version` (part of the
verdict cache key) and `preflight()` (checks run before anything is written).
"""
