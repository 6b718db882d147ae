"""The one boundary to models: every target and judge, remote or built-in, is reached through here.

`resolve_target(spec)` and `resolve_judge(spec, rubric)` return objects with the same async
interface whatever the provider (litellm for remote models, replay and builtin offline).
"""
