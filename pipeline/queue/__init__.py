"""The queue face: with PostgreSQL and `COMMS_QUEUE=procrastinate`, the clock only enqueues and
`comms worker` processes run the same job functions (`pipeline.jobs.tasks`) on procrastinate.

- `pipeline.queue.app`: the procrastinate App on our database, its schema, and deferring a job on a
  transaction of ours.
- `pipeline.queue.tasks`: the tasks, each a thin call of a job function with the worker's context.
- `pipeline.queue.enqueue`: the clock's wake-up in queue mode: what is due, as jobs.
- `pipeline.queue.worker`: the worker process (`comms worker`), its heartbeat and stalled-job recovery.
- `pipeline.queue.admin`: what `comms jobs` and `comms status` show and do.
"""
