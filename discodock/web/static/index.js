"use strict";
// The submission form: shows the inputs of the chosen ligand / site kind, posts to /api/jobs, opens the job page.
(function () {
  const form = document.getElementById("job-form");
  const errorBox = document.getElementById("error");
  const status = document.getElementById("form-status");

  function toggle(groupName) {
    const chosen = form.querySelector(`input[name="${groupName}"]:checked`).value;
    const fieldset = form.querySelector(`input[name="${groupName}"]`).closest("fieldset");
    fieldset.querySelectorAll("[data-for]").forEach((el) => { el.hidden = el.dataset.for !== chosen; });
  }
  ["ligand-kind", "site"].forEach((g) => {
    form.querySelectorAll(`input[name="${g}"]`).forEach((r) => r.addEventListener("change", () => toggle(g)));
    toggle(g);
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errorBox.hidden = true;
    const data = new FormData();
    const protein = document.getElementById("protein").files[0];
    if (protein) data.append("protein", protein);
    if (form.querySelector('input[name="ligand-kind"]:checked').value === "smiles") {
      data.append("ligand", document.getElementById("ligand-smiles").value);
    } else {
      const f = document.getElementById("ligand-file").files[0];
      if (f) data.append("ligand_file", f);
    }
    const site = form.querySelector('input[name="site"]:checked').value;
    if (site === "center") data.append("pocket_center", document.getElementById("pocket-center").value);
    if (site === "autobox") {
      const f = document.getElementById("autobox").files[0];
      if (f) data.append("autobox_ligand", f);
    }
    for (const key of ["samples", "seed", "steps", "refine"]) {
      const v = document.getElementById(key).value;
      if (v !== "") data.append(key, v);
    }
    const button = document.getElementById("submit");
    button.disabled = true;
    status.textContent = "Uploading and checking the inputs…";
    try {
      const resp = await fetch("/api/jobs", { method: "POST", body: data });
      const body = await resp.json().catch(() => ({ error: `server answered ${resp.status}` }));
      if (resp.status === 202) {
        window.location.assign(body.page);
        return;
      }
      throw new Error(body.error || `server answered ${resp.status}`);
    } catch (err) {
      errorBox.textContent = err.message;
      errorBox.hidden = false;
      status.textContent = "";
      button.disabled = false;
    }
  });
})();
