"""Kawasan web service: the Flask app and its feature modules."""
