"use strict";
// The job page: polls /api/jobs/{id} until the job ends, then shows the poses in 3Dmol.js and in a table.
(function () {
  const jobId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
  const api = `/api/jobs/${encodeURIComponent(jobId)}`;
  const $ = (id) => document.getElementById(id);
  const fmt = (v, digits) => (v === null || v === undefined ? "\u2013" : Number(v).toFixed(digits));
  let job = null, viewer = null, protein = null, ligand = null, surface = null, current = null;
  let sortKey = "rank", sortDir = 1;

  function showError(text) { $("error").textContent = text; $("error").hidden = !text; }

  function renderStatus(j) {
    $("status").textContent = j.status;
    $("status").className = `badge ${j.status}`;
    let stage = j.stage || "";
    if (j.status === "queued" && j.queue_position) stage = `waiting: number ${j.queue_position} in the queue`;
    $("stage").textContent = j.status === "done" ? `${j.poses.length} poses` : stage;
    $("progress").value = j.progress || 0;
    $("progress").hidden = !(j.status === "queued" || j.status === "running");
    $("elapsed").textContent = j.elapsed_s === null ? "" : `${j.elapsed_s.toFixed(0)} s`;
    $("cancel").hidden = !(j.status === "queued" || j.status === "running");
    $("delete").hidden = false;
    const inp = j.input || {};
    const site = inp.site || {};
    const where = site.center ? `site ${site.center.map((v) => v.toFixed(1)).join(", ")} \u00c5` +
      (site.source === "autobox" ? ` (centre of ${inp.autobox_name})` : "") : "blind (whole protein)";
    $("inputs").textContent = `${inp.protein_name} \u00b7 ${inp.ligand_name} \u00b7 ${where} \u00b7 ` +
      `${inp.samples ?? "default"} samples, ${inp.steps} steps, seed ${inp.seed}`;
    $("job-title").textContent = `job ${jobId.slice(0, 8)}\u2026`;
    showError(j.status === "error" ? j.error : "");
  }

  async function poll() {
    let resp;
    try { resp = await fetch(api, { cache: "no-store" }); } catch (e) { setTimeout(poll, 2000); return; }
    if (resp.status === 404) { showError("No such job (it may have been deleted or expired)."); $("status").textContent = "gone"; return; }
    job = await resp.json();
    renderStatus(job);
    if (job.status === "queued" || job.status === "running") { setTimeout(poll, 1000); return; }
    if (job.status === "done") await renderResult(job);
  }

  function sortedPoses() {
    const key = sortKey;
    const val = (p) => (key === "valid" ? (p.valid === true ? 1 : p.valid === false ? 0 : -1) : p[key]);
    return job.poses.slice().sort((a, b) => {
      const x = val(a), y = val(b);
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : a.rank - b.rank) * sortDir;
    });
  }

  function renderTable() {
    const tbody = $("poses").querySelector("tbody");
    tbody.innerHTML = "";
    for (const p of sortedPoses()) {
      const tr = document.createElement("tr");
      tr.dataset.rank = p.rank;
      if (p.rank === current) tr.className = "selected";
      const validText = p.valid === true ? "yes" : p.valid === false ? "no" : "n/a";
      const cells = [String(p.rank), fmt(p.vina_score, 2), fmt(p.confidence, 2), fmt(p.rmsd_to_top, 2), validText];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 4) {
          td.className = `valid-${validText}`;
          td.title = p.valid === false ? `failed: ${p.failed_checks.join(", ")}` : (p.valid_note || "all checks passed");
        }
        tr.appendChild(td);
      });
      const td = document.createElement("td");
      const a = document.createElement("a");
      a.href = p.sdf; a.textContent = "SDF"; a.addEventListener("click", (e) => e.stopPropagation());
      td.appendChild(a); tr.appendChild(td);
      tr.addEventListener("click", () => showPose(p.rank));
      tbody.appendChild(tr);
    }
  }

  function nearbyResidues() {
    // Residues with any atom within 5 A of any ligand atom (waters left out).
    const lig = ligand.selectedAtoms({});
    const near = new Map();
    for (const a of protein.selectedAtoms({})) {
      if (a.resn === "HOH") continue;
      for (const b of lig) {
        const dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
        if (dx * dx + dy * dy + dz * dz <= 25) { near.set(`${a.chain}:${a.resi}`, { chain: a.chain, resi: a.resi }); break; }
      }
    }
    return [...near.values()];
  }

  function styleScene() {
    protein.setStyle({}, { cartoon: { color: "#9db4c0" } });
    protein.setStyle({ resn: "HOH" }, {});
    if ($("pocket").checked) {
      for (const r of nearbyResidues()) {
        protein.setStyle({ chain: r.chain, resi: r.resi },
          { cartoon: { color: "#9db4c0" }, stick: { colorscheme: "whiteCarbon", radius: 0.14 } });
      }
    }
    ligand.setStyle({}, { stick: { colorscheme: "greenCarbon", radius: 0.28 } });
  }

  async function showPose(rank) {
    const resp = await fetch(`${api}/poses/${rank}.sdf`);
    if (!resp.ok) { showError(`could not load pose ${rank}`); return; }
    const sdf = await resp.text();
    if (ligand) viewer.removeModel(ligand);
    ligand = viewer.addModel(sdf, "sdf");
    current = rank;
    styleScene();
    viewer.zoomTo({ model: ligand });
    viewer.zoom(0.45);
    viewer.render();
    $("pose-label").textContent = `Pose ${rank}`;
    document.querySelectorAll("#poses tbody tr").forEach((tr) => tr.classList.toggle("selected", Number(tr.dataset.rank) === rank));
    $("viewer").dataset.pose = String(rank);
  }

  async function toggleSurface() {
    if (surface !== null) { viewer.removeSurface(surface); surface = null; }
    if ($("surface").checked) {
      surface = await viewer.addSurface($3Dmol.SurfaceType.VDW, { opacity: 0.55, color: "#dfe6ea" }, { model: protein });
    }
    viewer.render();
  }

  async function renderResult(j) {
    $("result").hidden = false;
    const notes = $("notes");
    notes.innerHTML = "";
    const note = (text) => { const li = document.createElement("li"); li.textContent = text; notes.appendChild(li); };
    const by = { vina: "Vina score (lowest first)", confidence: "confidence (highest first)", none: "sample order" }[j.ranked_by] || j.ranked_by;
    const refined = {vina: "refined by Vina local optimisation",
                     search: "refined by a Monte Carlo search on Vina's energy and Vina local optimisation"};
    note(`Ranked by ${by}; poses ${refined[j.refined_by] || "not refined"}.`);
    note(`Confidence: ${j.confidence_meaning}.` + (j.poses.every((p) => p.confidence === null) ? " These weights have no confidence model, so it is blank." : ""));
    note("Valid: PoseBusters checks (bond lengths and angles, planarity, internal clashes, energy ratio, clashes with the protein); hover for the failed ones.");
    (j.warnings || []).forEach((w) => note(`Warning: ${w}`));
    $("confidence-head").title = j.confidence_meaning;
    const d = j.downloads;
    $("downloads").innerHTML = "";
    for (const [href, text] of [[d.all_poses, "all poses (SDF)"], [d.complex, "complex with pose 1 (PDB)"], [d.zip, "everything (ZIP)"]]) {
      const a = document.createElement("a"); a.href = href; a.textContent = text; $("downloads").appendChild(a);
    }
    renderTable();
    viewer = $3Dmol.createViewer($("viewer"), { backgroundColor: "white", antialias: true });
    const receptor = await (await fetch(d.receptor)).text();
    protein = viewer.addModel(receptor, "pdb");
    if (j.poses.length) await showPose(j.poses[0].rank);
    $("viewer").dataset.ready = "1";
  }

  $("poses").querySelectorAll("th").forEach((th) => th.addEventListener("click", () => {
    const key = th.dataset.key;
    if (!job || key === "none") return;
    sortDir = key === sortKey ? -sortDir : 1;
    sortKey = key;
    $("poses").querySelectorAll("th").forEach((h) => h.removeAttribute("data-sort-dir"));
    th.dataset.sortDir = sortDir > 0 ? "asc" : "desc";
    renderTable();
  }));
  $("surface").addEventListener("change", toggleSurface);
  $("pocket").addEventListener("change", () => { if (ligand) { styleScene(); viewer.render(); } });
  $("cancel").addEventListener("click", async () => {
    await fetch(`${api}/cancel`, { method: "POST" });  // the running poll loop picks up the new status
  });
  $("delete").addEventListener("click", async () => {
    if (!confirm("Delete this job and its files?")) return;
    const resp = await fetch(api, { method: "DELETE" });
    if (resp.status === 204) window.location.assign("/");
  });
  poll();
})();
