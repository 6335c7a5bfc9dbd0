"""Channel adapters: each sub-package turns its native input into an InboundContact."""
