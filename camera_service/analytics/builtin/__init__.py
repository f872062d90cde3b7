"""Built-in detector plugins (run in the analytics worker process)."""
