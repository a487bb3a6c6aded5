"""Statistical validation of both engines against exact queueing theory."""
