"""The JSON API of ``discodock serve`` against a real server docking the shipped 6ce6 example."""

from __future__ import annotations

import gzip
import http.client
import io
import threading
import zipfile
from pathlib import Path

import requests
from rdkit import Chem

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "examples" / "6ce6"
PROTEIN, LIGAND = EXAMPLE / "6ce6_protein.pdb.gz", EXAMPLE / "6ce6_ligand.sdf"


def _raw(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """A request whose path goes out exactly as written (requests would normalise ``..``)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders(body)
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def test_dock_6ce6_end_to_end(server, docked):
    assert docked["input"]["protein_name"] == "6ce6_protein.pdb.gz"
    assert docked["input"]["site"]["center"] == [-2.2, 3.4, 7.3]
    poses = docked["poses"]
    assert [p["rank"] for p in poses] == [1, 2, 3]
    assert docked["ranked_by"] == "vina" and docked["refined_by"] == "vina"
    scores = [p["vina_score"] for p in poses]
    assert scores == sorted(scores) and all(isinstance(s, float) for s in scores)
    assert poses[0]["rmsd_to_top"] == 0.0 and all(p["rmsd_to_top"] >= 0 for p in poses)
    assert all(p["valid"] in (True, False) for p in poses)
    assert "within 2 A" in docked["confidence_meaning"]

    ref = Chem.MolFromMolFile(str(LIGAND))
    for p in poses:
        r = requests.get(server.base + p["sdf"], timeout=10)
        assert r.status_code == 200
        mol = next(Chem.ForwardSDMolSupplier(io.BytesIO(r.content)))
        assert mol is not None and mol.GetNumAtoms() == ref.GetNumAtoms()
        assert int(mol.GetProp("rank")) == p["rank"]
        assert float(mol.GetProp("vina_score")) == p["vina_score"]
        pos = mol.GetConformer().GetPositions()  # docked near the site, in the protein's frame
        assert abs(pos.mean(0) - [-2.2, 3.4, 7.3]).max() < 15
    all_sdf = requests.get(f"{server.base}/api/jobs/{docked['id']}/poses.sdf", timeout=10)
    mols = [m for m in Chem.ForwardSDMolSupplier(io.BytesIO(all_sdf.content)) if m is not None]
    assert [int(m.GetProp("rank")) for m in mols] == [1, 2, 3]

    cpx = requests.get(f"{server.base}/api/jobs/{docked['id']}/complex.pdb", timeout=10)
    assert cpx.status_code == 200
    lig_lines = [ln for ln in cpx.text.splitlines() if ln.startswith("HETATM") and ln[17:20] == "LIG"]
    assert len(lig_lines) == ref.GetNumAtoms()
    with gzip.open(PROTEIN, "rt") as fh:
        n_atoms = sum(ln.startswith("ATOM") for ln in fh)
    assert sum(ln.startswith("ATOM") for ln in cpx.text.splitlines()) == n_atoms > 500

    z = requests.get(f"{server.base}/api/jobs/{docked['id']}/results.zip", timeout=30)
    assert z.status_code == 200
    names = {Path(n).name for n in zipfile.ZipFile(io.BytesIO(z.content)).namelist()}
    assert {"results.json", "rank1.sdf", "rank3.sdf", "poses.sdf", "complex_rank1.pdb", "job.log"} <= names
    log = (server.data_dir / "jobs" / docked["id"] / "job.log").read_text()
    assert "queued" in log and "started on worker" in log and "done in" in log


def test_cif_receptor_smiles_ligand_and_autobox_site(server, tmp_path):
    # The receptor as mmCIF, the crystal ligand as the autobox reference, the ligand itself as SMILES.
    import gemmi

    structure = gemmi.read_structure(str(PROTEIN))
    structure.setup_entities()
    cif = tmp_path / "6ce6.cif"
    structure.make_mmcif_document().write_file(str(cif))
    smiles = Chem.MolToSmiles(Chem.MolFromMolFile(str(LIGAND)))
    r = server.submit(protein=cif, smiles=smiles, center=None,
                      files={"autobox_ligand": ("ref.sdf", LIGAND.read_bytes())})
    assert r.status_code == 202, r.text
    job = server.wait(r.json()["id"])
    assert job["status"] == "done", job
    site = job["input"]["site"]
    assert site["source"] == "autobox" and len(site["box_size"]) == 3
    xyz = Chem.MolFromMolFile(str(LIGAND)).GetConformer().GetPositions().mean(0)
    assert max(abs(a - b) for a, b in zip(site["center"], xyz)) < 1e-2
    assert len(job["poses"]) == 3
    cpx = requests.get(f"{server.base}/api/jobs/{job['id']}/complex.pdb", timeout=10).text.splitlines()
    with gzip.open(PROTEIN, "rt") as fh:  # the complex file is PDB whatever format came in
        assert sum(ln.startswith("ATOM") for ln in cpx) == sum(ln.startswith("ATOM") for ln in fh)


def test_bad_inputs_give_400_with_one_line(server):
    garbage = ("garbage.pdb", b"this is not a protein structure\n" * 20)
    cases = [
        (dict(files={"protein": garbage}, protein=None), "garbage.pdb"),
        (dict(smiles="C1CC(", ligand_file=None), "SMILES"),
        (dict(smiles=str(LIGAND), ligand_file=None), "file name"),  # text is never read as a server path
        (dict(smiles="/etc/hostname", ligand_file=None), "file name"),
        (dict(center="500,500,500"), "nearest residue"),
        (dict(center="1,2"), "pocket_center"),
        (dict(protein=None), "protein"),
        (dict(smiles="CCO", files={"ligand_file": ("lig.sdf", LIGAND.read_bytes())}), "not both"),
        (dict(files={"protein": ("prot.txt", b"ATOM")}, protein=None), "unsupported"),
        (dict(fields={"samples": "-1"}), "samples"),
        (dict(fields={"samples": "0", "refine": "vina"}), "samples"),
        (dict(fields={"samples": "many"}), "samples"),
        (dict(files={"autobox_ligand": ("ref.sdf", LIGAND.read_bytes())}), "not both"),
        (dict(files={"ligand_file": ("empty.sdf", b"")}), "empty"),
    ]
    before = {p.name for p in (server.data_dir / "jobs").iterdir()}
    for kwargs, needle in cases:
        r = server.submit(**kwargs)
        assert r.status_code == 400, (kwargs, r.text)
        msg = r.json()["error"]
        assert needle in msg and "\n" not in msg, (kwargs, msg)
    assert {p.name for p in (server.data_dir / "jobs").iterdir()} == before  # nothing left behind
    r = requests.post(f"{server.base}/api/jobs", json={"protein": "x"}, timeout=10)
    assert r.status_code == 400


def test_oversize_upload_is_refused_without_reading_it(server):
    big = b"ATOM" * (3 << 18)  # 3 MB > the server's 2 MB cap
    r = server.submit(protein=None, files={"protein": ("big.pdb", big)})
    assert r.status_code == 413 and "2 MB" in r.json()["error"]
    # Declared length over the cap: refused on the headers alone (no body is ever sent here).
    status, body = _raw(server, "POST", "/api/jobs", None,
                        {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(10 << 30)})
    assert status == 413

    # Chunked, no Content-Length: counted as it streams and cut off past the cap.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/api/jobs")
    conn.putheader("Content-Type", "multipart/form-data; boundary=BOUNDARY")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    head = (b'--BOUNDARY\r\nContent-Disposition: form-data; name="protein"; filename="big.pdb"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    sent = 0
    chunk = b"A" * (256 << 10)
    try:
        conn.send(b"%x\r\n%s\r\n" % (len(head), head))
        while sent < (64 << 20):  # give up after 64 MB: the server must have answered long before
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    resp = conn.getresponse()
    assert resp.status == 413
    assert sent < (64 << 20)
    conn.close()
    assert requests.get(f"{server.base}/api/health", timeout=10).status_code == 200  # still serving


def test_unknown_and_traversal_ids_are_404(server, docked):
    jid = docked["id"]
    paths = [
        "/api/jobs/doesnotexist", "/api/jobs/" + "A" * 32, "/api/jobs/..", "/api/jobs/%2e%2e",
        "/api/jobs/..%2F..%2Fjobs.sqlite3", "/api/jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd/poses.sdf",
        "/api/jobs/../jobs.sqlite3", f"/api/jobs/{jid}/poses/0.sdf", f"/api/jobs/{jid}/poses/4.sdf",
        f"/api/jobs/{jid}/poses/..%2F..%2Finputs%2Fprotein.pdb.gz.sdf", f"/api/jobs/{jid}/poses/-1.sdf",
        f"/api/jobs/{jid}/inputs/protein.pdb.gz", f"/api/jobs/{jid}/../{jid}/poses.sdf", "/jobs/..%2Fjobs.sqlite3",
        "/jobs/" + "B" * 32, "/static/..%2Fstore.py", "/static/../app.py",
    ]
    for path in paths:
        status, body = _raw(server, "GET", path)
        assert status == 404, (path, status, body[:200])
        assert b"sqlite" not in body.lower() and b"import" not in body


def test_ids_are_random_tokens(server, docked):
    assert len(docked["id"]) == 32 and docked["id"] not in {"1", "0"}


def test_page_assets_are_local(server):
    html = requests.get(server.base + "/", timeout=10)
    assert html.status_code == 200 and "default-src 'self'" in html.headers["content-security-policy"]
    for page in (html.text, requests.get(f"{server.base}/static/job.js", timeout=10).text):
        assert "http://" not in page and "https://" not in page
    js = requests.get(f"{server.base}/static/3Dmol-min.js", timeout=10)
    assert js.status_code == 200 and len(js.content) > 100_000
    assert "BSD" in requests.get(f"{server.base}/static/3Dmol-LICENSE.txt", timeout=10).text
    assert requests.get(f"{server.base}/docs", timeout=10).status_code == 404  # Swagger UI would need a CDN
    assert requests.get(f"{server.base}/api/openapi.json", timeout=10).json()["info"]["title"] == "discodock"


def test_three_concurrent_jobs_all_finish_within_the_worker_cap(server):
    ids, errors = [], []

    def post():
        try:
            r = server.submit()
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 3
    jobs = [server.wait(i) for i in ids]
    assert [j["status"] for j in jobs] == ["done"] * 3
    assert all(len(j["poses"]) == 3 for j in jobs)
    # Never more jobs at once than workers (2): check every start against the others' run intervals.
    spans = [(j["started"], j["finished"]) for j in jobs]
    for s, _ in spans:
        assert sum(a <= s < b for a, b in spans) <= server.workers


def test_cancel_and_delete(server):
    # A long job (40 samples, 100 steps) is cancelled while it runs; its worker is replaced.
    r = server.submit(fields={"samples": "40", "steps": "100"})
    long_id = r.json()["id"]
    server.wait(long_id, until=("running",))
    c = requests.post(f"{server.base}/api/jobs/{long_id}/cancel", timeout=30)
    assert c.status_code == 200 and c.json()["status"] == "cancelled"
    assert server.job(long_id)["status"] == "cancelled"
    # Deleting removes the record and every file of the job.
    d = requests.delete(f"{server.base}/api/jobs/{long_id}", timeout=30)
    assert d.status_code == 204
    assert requests.get(f"{server.base}/api/jobs/{long_id}", timeout=10).status_code == 404
    assert not (server.data_dir / "jobs" / long_id).exists()
    # The server still docks afterwards (the killed worker came back).
    r = server.submit()
    assert server.wait(r.json()["id"])["status"] == "done"
    assert requests.delete(f"{server.base}/api/jobs/{'x' * 32}", timeout=10).status_code == 404
