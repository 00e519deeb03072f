"""What the tests share: builders of signed deliveries, the AWS and local harnesses, the
scenarios and the hostile inputs, imported as ``tests.support.<module>``."""
