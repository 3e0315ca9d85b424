"""``discodock serve``: a web page and JSON API to dock a ligand into a protein and view the ranked poses.

Needs the optional ``web`` extra (FastAPI, uvicorn, python-multipart): ``pip install "discodock[web]"``.
Modules: ``app`` (routes), ``jobs`` (queue and dispatcher), ``workers`` (docking processes), ``store``
(SQLite job store), ``uploads`` (size cap), ``engine`` (the only door into the docking engine).
"""
