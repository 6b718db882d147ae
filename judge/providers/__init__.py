"""The one boundary to models: every target and judge, remote or built-in, is reached through here.

`registry.resolve_target(spec)` and `registry.resolve_judge(spec)` return objects with the same
async interface whatever the provider (litellm for remote models, replay and builtin offline); the
rubric reaches a judge with each request (`JudgeRequest.messages`, the rendered judge prompt), not when it is resolved.
"""
