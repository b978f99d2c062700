"""What the models do in production: prediction log, ground truth, quality, drift, A/B, alerts.

Plain Python (no Flask). The request path touches one call; everything else runs in background
threads or behind pages and APIs that read plain dicts:

- `components.prepare(settings)` once per start (before the workers): SQLite file check, schema
  upgrade (Alembic scripts in `migrations/`).
- `components.create_monitoring(settings, sources, models, ready)` per worker, then `.start()`.
- `Monitoring.log.submit(PredictionRecord(...))` after each prediction (v1, v2, pages, CSV jobs):
  never blocks or raises; sampled by a hash of the request id; see `records.PredictionRecord`.
- `Monitoring.feedback.record(model, [(request_id, truth), ...])`: raises InvalidInput (400),
  NotFound (404), Conflict (409), LogUnavailable (503).
- `Monitoring.monitor.summary(model)`: the latest drift / quality / CBPE / A/B summary (dict or None).
- `Monitoring.job.run_once(model)` recomputes now; `Monitoring.job.request()` asks the thread to.
- `Monitoring.log.stats()` and `Monitoring.job.errors` for `/ops`.
- `export.write_csv(db, model, out, since=, until=, reveal=)` / `export.write_parquet(...)`.
- `metrics.set_ready(bool)` from the readiness probe; the rest of `metrics` is set here.

`sources(model)` returns `{version: prepared.VersionSource(spec, predict)}` for the served versions,
where `predict(batch)` must be safe off the request path, e.g.
`service.predict(Target(name, version), lambda _: Tensor(batch)).values`.
"""
