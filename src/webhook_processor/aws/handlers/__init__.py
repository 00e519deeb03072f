"""The Lambda functions' entry points: they reach adapters through ``aws.bootstrap`` only."""
