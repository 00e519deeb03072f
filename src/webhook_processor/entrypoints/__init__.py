"""The edges: the local HTTP server, the CLI and (on AWS) the Lambda handlers."""
