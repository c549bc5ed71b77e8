"""HTTP routes of the service's API."""
