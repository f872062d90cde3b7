"""Analytics: sampled frames -> motion gate -> detector plugins (worker process) -> tracks -> events."""
