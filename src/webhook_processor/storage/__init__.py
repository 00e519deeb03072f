"""Event stores. The protocols live in ``base``; each implementation in its own module
(``memory``, ``sqlite``, ``dynamodb``), imported where it is chosen, so that the Lambda
functions never load SQLite and the local processor never loads boto3."""
