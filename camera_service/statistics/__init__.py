"""Statistics for reports (get_statistics): uptime, recordings, events, snapshots, live views."""
