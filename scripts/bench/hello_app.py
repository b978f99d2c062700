"""A bare Flask endpoint: the ceiling for any Flask app under the same gunicorn settings."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/hello", methods=["GET", "POST"])
def hello():
    return jsonify(message="hello")
