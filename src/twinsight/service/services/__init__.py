"""The service's logic, apart from HTTP: the open twins, ingest and the twins' state."""
