"""The case board: domain model, intake, workflow, outbox, API and (later) the agents' pages."""
