"""`python -m camera_service.client.camctl` == `camctl`."""

from camera_service.client.camctl.main import entry

entry()
