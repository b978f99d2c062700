"""CSV batch scoring pages: upload → job page with a progress bar → results table and download.

The job lives in files (webapp/serving/jobs/store.py), so the progress poll and the download work
whichever gunicorn worker answers them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, send_file, url_for

from webapp.extensions import jobs
from webapp.pages.access import user_name
from webapp.pages.kinds import kind_of, recommender
from webapp.pages.models import guard, model_page, selection
from webapp.serving.errors import InvalidInput, ModelUnavailable, NotServed, Overloaded, PayloadTooLarge

bp = Blueprint("batch", __name__)
bp.before_request(guard)


@bp.post("/models/<name>/batch")
def create(name: str):
    picked = selection(request.form)
    upload = request.files.get("csv")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("Choose a CSV file first.")
        job_id = jobs().create(name, upload.stream, upload.filename or "", *picked, caller=user_name())
    except (InvalidInput, PayloadTooLarge, ModelUnavailable, NotServed, Overloaded) as exc:
        if kind_of(name) == "recommendation":  # its CSV form is on its own page
            return recommender(name, exc.status, batch_error=exc.message)
        return model_page(name, exc.status, picked=picked, batch_error=exc.message)
    return redirect(url_for("batch.job", job_id=job_id), code=303)


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    progress = jobs().progress(job_id)
    header, rows = jobs().preview(job_id) if progress["state"] == "done" else ([], [])
    return render_template("batch/job.html", job=progress, header=header, rows=rows,
                           percent=percent(progress))


@bp.get("/jobs/<job_id>/progress")
def progress(job_id: str):
    doc = jobs().progress(job_id)
    return jsonify(state=doc["state"], rows_done=doc["rows_done"], rows_total=doc["rows_total"],
                   rows_failed=doc["rows_failed"], percent=percent(doc), message=doc["message"])


@bp.get("/jobs/<job_id>/scored.csv")
def download(job_id: str):
    doc = jobs().progress(job_id)
    name = f"{doc['model']}-v{doc['version']}-scored.csv"
    return send_file(jobs().output_path(job_id), mimetype="text/csv", as_attachment=True,
                     download_name=name, max_age=0)


def percent(doc: dict) -> int:
    if doc["state"] == "done":
        return 100
    total = max(1, doc["rows_total"])
    return min(99, int(100 * doc["rows_done"] / total))
