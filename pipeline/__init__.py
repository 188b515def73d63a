"""The application: settings, storage, the jobs (collect, compose, queue, dispatch, measure, report),
the scheduling wiring and the command line. `pipeline.app.make_pipeline(settings)` builds it."""
