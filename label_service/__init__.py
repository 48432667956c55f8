"""Certification workflow, signed carbon labels, QR codes, renderings and public verification."""
