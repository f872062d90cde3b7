"""Signed webhooks: endpoints, a durable outbox in the database, and the delivery worker."""
