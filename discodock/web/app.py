"""The web app: the page (``GET /``, ``GET /jobs/{id}``) and the JSON API it uses (``/api/...``).

Everything the page loads is served from this package (the 3Dmol.js viewer is vendored under ``static/``);
FastAPI's interactive docs, which load Swagger UI from a CDN, are turned off.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
import zipfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from discodock.errors import ConfigError
from discodock.sampling.settings import REFINEMENTS, DockSettings, check_settings
from discodock.web import engine
from discodock.web.jobs import JobManager
from discodock.web.store import JobStore, new_job_id, valid_job_id
from discodock.web.uploads import BodySizeLimit, save_upload, upload_suffix

STATIC = Path(__file__).resolve().parent / "static"
PROTEIN_SUFFIXES = (".pdb", ".pdb.gz", ".ent", ".ent.gz", ".cif", ".cif.gz", ".mmcif", ".mmcif.gz")
LIGAND_SUFFIXES = (".sdf", ".sdf.gz", ".mol", ".mol2", ".mol2.gz", ".pdb")
# The page's own files only; 3Dmol.js builds surfaces in blob: workers and its shaders need no eval.
CSP = ("default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HTML_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class ServerSettings:
    """``max_upload_mb``: cap on one submission's size (MB); ``keep_days``: finished jobs are deleted after
    this many days; ``workers``: docking processes (= jobs running at once)."""

    data_dir: Path
    workers: int = 1
    max_upload_mb: float = 50.0
    keep_days: float = 7.0
    max_samples: int = 40
    max_steps: int = 100
    max_queued: int = 100
    device: str = "auto"


class BadInput(Exception):
    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _client_name(upload: UploadFile) -> str:
    """The client's file name for messages only: its last component, printable, at most 80 characters."""
    name = Path((upload.filename or "").replace("\\", "/")).name
    return "".join(ch for ch in name if ch.isprintable())[:80] or "upload"


def _text(form, key: str) -> str | None:
    value = form.get(key)
    if value is None:
        return None
    if isinstance(value, UploadFile):
        raise BadInput(f"{key}: expected a text field, got a file")
    value = value.strip()
    return value or None


def _file(form, key: str) -> UploadFile | None:
    value = form.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, UploadFile):
        raise BadInput(f"{key}: expected a file upload")
    if not value.filename and not value.size:  # a browser's empty file input
        return None
    return value


def _int(form, key: str, default: int | None, lo: int, hi: int) -> int | None:
    text = _text(form, key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadInput(f"{key}: expected a whole number, got {text[:40]!r}") from None
    if not lo <= value <= hi:
        raise BadInput(f"{key}: must be between {lo} and {hi}, got {value}")
    return value


def _center(text: str) -> tuple[float, float, float]:
    parts = text.replace(";", ",").split(",")
    try:
        xyz = tuple(float(p) for p in parts)
    except ValueError:
        xyz = ()
    if len(xyz) != 3 or not all(math.isfinite(v) for v in xyz):
        raise BadInput(f"pocket_center: expected x,y,z in Angstrom, got {text[:60]!r}")
    return xyz  # type: ignore[return-value]


def _save(upload: UploadFile, inputs: Path, stem: str, allowed: tuple[str, ...], what: str) -> tuple[Path, str]:
    name = _client_name(upload)
    suffix = upload_suffix(upload.filename, allowed)
    if suffix is None:
        raise BadInput(f"{name}: unsupported {what} file type (use {', '.join(allowed)})")
    path = inputs / f"{stem}{suffix}"
    if save_upload(upload, path) == 0:
        raise BadInput(f"{name}: file is empty")
    return path, name


def _parse_submission(form, inputs: Path, s: ServerSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Save the uploads into ``inputs`` and collect the job's parameters (no parsing of structures yet)."""
    protein = _file(form, "protein")
    if protein is None:
        raise BadInput("protein: a receptor file (.pdb, .pdb.gz or .cif) is required")
    smiles, ligand_file = _text(form, "ligand"), _file(form, "ligand_file")
    if (smiles is None) == (ligand_file is None):
        raise BadInput("ligand: give either a SMILES string (ligand) or a file (ligand_file), not "
                       + ("both" if smiles else "neither"))
    center_text, autobox = _text(form, "pocket_center"), _file(form, "autobox_ligand")
    if center_text and autobox is not None:
        raise BadInput("site: give either pocket_center or autobox_ligand, not both")
    refine = _text(form, "refine")
    if refine is not None and refine not in REFINEMENTS:
        raise BadInput(f"refine: expected none, vina or search, got {refine[:20]!r}")
    params: dict[str, Any] = {
        "samples": _int(form, "samples", None, 0, s.max_samples),  # None: the weights' recommendation
        "steps": _int(form, "steps", 20, 1, s.max_steps),
        "seed": _int(form, "seed", 0, 0, 2**31 - 1),
        "refine": refine,
    }
    try:
        check_settings(DockSettings(samples=params["samples"], refine=refine))
    except ConfigError as err:
        raise BadInput(f"samples: {err.problem}") from None
    limit = int(s.max_upload_mb * 10 * (1 << 20))  # unpacked gzip: ten times the upload cap
    path, params["protein_name"] = _save(protein, inputs, "protein", PROTEIN_SUFFIXES, "receptor")
    engine.check_gzip_size(path, limit, params["protein_name"])
    params["protein_file"] = path.name
    labels = {"protein": params["protein_name"]}
    if ligand_file is not None:
        path, params["ligand_name"] = _save(ligand_file, inputs, "ligand", LIGAND_SUFFIXES, "ligand")
        engine.check_gzip_size(path, limit, params["ligand_name"])
        params["ligand_file"] = path.name
        labels["ligand"] = params["ligand_name"]
    else:
        if len(smiles) > 2000:
            raise BadInput("ligand: SMILES longer than 2000 characters")
        params["ligand_smiles"] = params["ligand_name"] = smiles
        labels["ligand"] = f"SMILES {smiles[:60]}"
    site = engine.Site(center=None)
    checks: dict[str, Any] = {"protein": inputs / params["protein_file"], "labels": labels,
                              "ligand": inputs / params["ligand_file"] if ligand_file is not None else smiles}
    if center_text:
        site = engine.Site(center=_center(center_text), source="center")
    elif autobox is not None:
        path, params["autobox_name"] = _save(autobox, inputs, "autobox", LIGAND_SUFFIXES, "reference ligand")
        labels["autobox"] = params["autobox_name"]
        checks["autobox"] = path
    checks["site"] = site
    return params, checks


def _job_json(job, store: JobStore) -> dict[str, Any]:
    base = f"/api/jobs/{job.id}"
    now = time.time()
    out: dict[str, Any] = {
        "id": job.id, "status": job.status, "stage": job.stage, "progress": round(job.progress, 3),
        "error": job.error, "created": job.created, "started": job.started, "finished": job.finished,
        "elapsed_s": None if job.started is None else round((job.finished or now) - job.started, 1),
        "input": {k: job.params.get(k) for k in ("protein_name", "ligand_name", "samples", "steps", "seed",
                                                  "refine", "autobox_name", "site")},
        "poses": [], "page": f"/jobs/{job.id}",
    }
    if job.status == "queued":
        out["queue_position"] = store.queue_position(job)
    if job.result:
        r = job.result
        out["poses"] = [dict(p, sdf=f"{base}/poses/{p['rank']}.sdf") for p in r.get("poses", [])]
        out.update({k: r.get(k) for k in ("ranked_by", "warnings", "timings", "confidence_meaning")})
        out["refined_by"] = r.get("refine")
        out["downloads"] = {"all_poses": f"{base}/poses.sdf", "complex": f"{base}/complex.pdb",
                            "zip": f"{base}/results.zip", "receptor": f"{base}/receptor.pdb"}
    return out


def _zip_results(folder: Path, job_id: str) -> Path:
    """``results.zip``: results.json, every rank SDF, all poses, the complex, the receptor and the job log."""
    target = folder / "results.zip"
    if target.is_file():
        return target
    top = f"discodock_{job_id[:8]}"
    tmp = folder / f".results.{os.getpid()}.zip"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((folder / engine.POSES_DIR).iterdir()):
            zf.write(path, f"{top}/{path.name}")
        for name in (engine.ALL_POSES_SDF, engine.RECEPTOR_PDB, "job.log"):
            if (folder / name).is_file():
                zf.write(folder / name, f"{top}/{name}")
    os.replace(tmp, target)
    return target


def create_app(settings: ServerSettings, *, manager: JobManager | None = None) -> FastAPI:
    store = JobStore(settings.data_dir) if manager is None else manager.store
    manager = manager or JobManager(store, workers=settings.workers, device=settings.device,
                                    keep_days=settings.keep_days)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        manager.start()
        threading.Thread(target=engine.warm_up, name="discodock-warm-up", daemon=True).start()
        try:
            yield
        finally:
            manager.stop()
            store.close()

    app = FastAPI(title="discodock", description="Dock a ligand into a protein and look at the ranked poses.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.manager = manager
    app.add_middleware(BodySizeLimit, max_bytes=int(settings.max_upload_mb * (1 << 20)))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            message = "not found"
        return _error(exc.status_code, message)

    def job_or_404(job_id: str):
        job = store.get(job_id) if valid_job_id(job_id) else None
        if job is None:
            raise StarletteHTTPException(404)
        return job

    def job_file(job_id: str, relative: str, media_type: str, download: str | None = None) -> FileResponse:
        job = job_or_404(job_id)
        path = store.job_dir(job.id) / relative  # fixed names under the job's own folder only
        if not path.is_file():
            raise StarletteHTTPException(404)
        return FileResponse(path, media_type=media_type, filename=download,
                            content_disposition_type="attachment" if download else "inline")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=HTML_HEADERS)

    @app.get("/jobs/{job_id}", include_in_schema=False)
    def job_page(job_id: str):
        job_or_404(job_id)
        return FileResponse(STATIC / "job.html", media_type="text/html", headers=HTML_HEADERS)

    @app.get("/api/health")
    def health():
        return manager.health()

    @app.post("/api/jobs", status_code=202)
    async def create_job(request: Request):
        """Multipart: ``protein`` file; ``ligand`` (SMILES) or ``ligand_file``; optional ``pocket_center``
        ("x,y,z", Angstrom) or ``autobox_ligand`` file; ``samples``, ``steps``, ``seed``, ``refine``."""
        if store.count("queued") >= settings.max_queued:
            return _error(503, f"the queue is full ({settings.max_queued} jobs waiting); try again later")
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return _error(400, "send the job as multipart/form-data (protein file, ligand ...)")
        job_id = new_job_id()
        folder = store.job_dir(job_id)
        inputs = folder / "inputs"
        inputs.mkdir(parents=True)
        try:
            async with request.form(max_files=3, max_fields=20) as form:
                params, checks = await run_in_threadpool(_parse_submission, form, inputs, settings)
            site, summary = await run_in_threadpool(
                engine.check_submission, checks["protein"], checks["ligand"], site=checks["site"],
                labels=checks["labels"], autobox=checks.get("autobox"))
        except BadInput as err:
            shutil.rmtree(folder, ignore_errors=True)
            return _error(400, str(err))
        except Exception as err:
            shutil.rmtree(folder, ignore_errors=True)
            if engine.is_input_error(err):
                return _error(400, str(err))
            raise
        params["site"] = site.to_dict()
        params["summary"] = summary
        manager.submit(job_id, params)
        return JSONResponse({"id": job_id, "status": "queued", "page": f"/jobs/{job_id}"}, status_code=202)

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str):
        return _job_json(job_or_404(job_id), store)

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel_job(job_id: str):
        job_or_404(job_id)
        manager.cancel(job_id)
        return _job_json(job_or_404(job_id), store)

    @app.delete("/api/jobs/{job_id}", status_code=204)
    def delete_job(job_id: str):
        job_or_404(job_id)
        manager.delete(job_id)
        return Response(status_code=204)

    @app.get("/api/jobs/{job_id}/poses/{rank}.sdf")
    def pose_sdf(job_id: str, rank: str):
        job = job_or_404(job_id)
        n = len((job.result or {}).get("poses", []))
        if not rank.isdigit() or not 1 <= int(rank) <= n:
            raise StarletteHTTPException(404)
        return job_file(job_id, f"{engine.POSES_DIR}/rank{int(rank)}.sdf", "chemical/x-mdl-sdfile",
                        f"{job_id[:8]}_rank{int(rank)}.sdf")

    @app.get("/api/jobs/{job_id}/poses.sdf")
    def all_poses(job_id: str):
        return job_file(job_id, engine.ALL_POSES_SDF, "chemical/x-mdl-sdfile", f"{job_id[:8]}_poses.sdf")

    @app.get("/api/jobs/{job_id}/complex.pdb")
    def complex_pdb(job_id: str):
        return job_file(job_id, f"{engine.POSES_DIR}/complex_rank1.pdb", "chemical/x-pdb",
                        f"{job_id[:8]}_complex_rank1.pdb")

    @app.get("/api/jobs/{job_id}/receptor.pdb")
    def receptor_pdb(job_id: str):
        return job_file(job_id, engine.RECEPTOR_PDB, "chemical/x-pdb")

    @app.get("/api/jobs/{job_id}/results.zip")
    async def results_zip(job_id: str):
        job = job_or_404(job_id)
        if job.status != "done":
            raise StarletteHTTPException(404)
        path = await run_in_threadpool(_zip_results, store.job_dir(job.id), job.id)
        return FileResponse(path, media_type="application/zip", filename=f"discodock_{job_id[:8]}.zip")

    return app


__all__ = ["ServerSettings", "create_app"]
