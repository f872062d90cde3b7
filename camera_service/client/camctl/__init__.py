"""camctl: the command line of camera-service (entry point: camera_service.client.camctl.main:entry)."""
