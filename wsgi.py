"""WSGI entry point for gunicorn: ``gunicorn wsgi:app`` (``kawasan serve`` does this for you)."""

from service.app import create_app

app = create_app()
