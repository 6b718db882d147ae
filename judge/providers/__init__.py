"""The one boundary to models: every target and judge, remote or built-in, is reached through here.

`resolve_target(spec)` and `resolve_judge(spec, rubric)` return objects with the same async
interface whatever the provider: the lean transport for openai/ and anthropic/ models (lean.py),
litellm and instructor for every other provider (litellm_backend.py), replay and builtin offline.
Remote models expose `before_send`, an optional async callback awaited before every HTTP request
(re-asks included) — the place to reserve a budget before a call is sent.
"""
