"""An independent OpenAI/Anthropic protocol server with faults, written from the public protocols, not from judge."""
