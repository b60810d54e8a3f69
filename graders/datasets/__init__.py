"""Datasets the harness serves to sandboxed notebooks.

`synthetic` holds the deterministic, pure-numpy stand-ins used when the real
files (Fashion-MNIST, MNIST, IMDB, face images) are not available offline.
"""
