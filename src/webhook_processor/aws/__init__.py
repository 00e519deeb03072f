"""The AWS wing: everything that runs on or operates AWS.

The DynamoDB store and its item layout (``items``, ``dynamodb``), the publication marks
(``publications``), the stream publisher (``stream``), SNS (``sns``), the hand-off and the
failure queues with their redrive (``handoff``, ``failure_queues``), SSM secrets (``secrets``),
the metric names the alarms share (``metrics``), the Lambda handlers (``handlers``), the
``aws`` commands' logic (``commands``) and the composition root (``bootstrap``). It imports
the core and never the local wing; the Lambda artifact carries the core and this wing only.
"""
