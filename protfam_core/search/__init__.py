"""Fingerprints searched by distance: every metric of the authors' compbiolab-CLI, and index files with an exact
scan or a FAISS index at scale, including one mean fingerprint per family.
"""
