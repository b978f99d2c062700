"""OpenAI's chat-completions API as KServe mounts it (`/openai/v1`); the wire format lives in `codec`."""
