"""`flask monitor ...`: ground truth from a CSV file, the log as CSV or Parquet, a round now."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from webapp.extensions import monitoring, service
from webapp.serving.errors import ServingError
from webapp.serving.monitored import Monitoring
from webapp.serving.monitoring import export, truths
from webapp.serving.monitoring.alerts import model_alerts

monitor_cli = AppGroup("monitor", help="Ground truth, exports and drift/quality rounds of the log.")


def _watching() -> Monitoring:
    found = monitoring()
    if found is None:
        raise click.ClickException("Monitoring is turned off (PODIUM_MONITORING=false)")
    return found


@monitor_cli.command("feedback")
@click.argument("model")
@click.argument("csv_file", type=click.File("rb"))
def monitor_feedback(model: str, csv_file) -> None:
    """Record the truths in CSV_FILE (columns request_id,truth) for MODEL's logged predictions."""
    try:
        counts = _watching().feedback.record(model, truths.from_csv(csv_file))
    except ServingError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{model}: recorded {counts['recorded']} truths, {counts['unchanged']} already known")


@monitor_cli.command("export")
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (CSV: stdout)")
@click.option("--since", type=float, help="Only predictions logged at or after (epoch seconds)")
@click.option("--until", type=float, help="Only predictions logged before (epoch seconds)")
@click.option("--reveal", is_flag=True, help="Decrypt encrypted sensitive features (needs the key)")
def monitor_export(model: str, fmt: str, out: Path | None, since: float | None, until: float | None,
                   reveal: bool) -> None:
    """Write MODEL's logged predictions with their truths, one row per predicted instance."""
    watch = _watching()
    options = {"since": since, "until": until, "reveal": watch.log.protector if reveal else None}
    try:
        if fmt == "parquet":
            if out is None:
                raise click.ClickException("Parquet needs --out FILE")
            count = export.write_parquet(watch.database, model, str(out), **options)
        elif out is None:
            count = export.write_csv(watch.database, model, sys.stdout, **options)
        else:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                count = export.write_csv(watch.database, model, fh, **options)
    except ServingError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{model}: exported {count} rows", err=True)


@monitor_cli.command("run")
@click.argument("model", required=False)
def monitor_run(model: str | None) -> None:
    """Compute drift, quality and the A/B table now (every model, or MODEL) and print the alerts."""
    watch = _watching()
    service().refresh()
    done = watch.job.run_once(model)
    for name, summary in sorted(done.items()):
        alerts = model_alerts(summary)
        shown = "; ".join(f"{a.name}: {a.text}" for a in alerts) or "no alerts"
        click.echo(f"{name}: {len(summary['versions'])} versions, {shown}")
    for name, error in sorted(watch.job.errors.items()):
        click.echo(f"{name}: FAILED {error}", err=True)
