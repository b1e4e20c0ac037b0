// Live archive progress: the instance's websocket feed (JSON) updates the page the server rendered.
(() => {
  const live = document.getElementById("archive-live");
  if (!live || !window.WebSocket) return;
  const labels = JSON.parse(document.getElementById("archive-status-labels").textContent);
  const set = (root, name, value) => root.querySelectorAll(`[data-field="${name}"]`).forEach((el) => { el.textContent = value; });
  const bar = (root, name, value, max) => { const el = root.querySelector(`[data-bar="${name}"]`); if (el) { el.max = max || 1; el.value = value || 0; el.hidden = !max; } };
  let waitLeft = Number(live.dataset.floodWait || 0);
  const tick = () => { set(live, "flood_wait_seconds", waitLeft); live.querySelector("[data-flood]").hidden = waitLeft <= 0; };
  setInterval(() => { if (waitLeft > 0) { waitLeft -= 1; tick(); } }, 1000);
  function show(run) {
    live.hidden = false;
    for (const key of ["run_id", "messages_saved", "dialogs_done", "dialogs_total"]) set(live, key, run[key]);
    set(live, "status", labels[run.status] || run.status);
    set(live, "rate", Number(run.rate || 0).toFixed(1));
    bar(live, "run", run.dialogs_done, run.dialogs_total);
    const dialog = run.dialog || {};
    set(live, "dialog_title", dialog.title || "—"); set(live, "dialog_archived", dialog.archived ?? ""); set(live, "dialog_total", dialog.total ?? "?");
    bar(live, "dialog", dialog.archived, dialog.total);
    const row = dialog.peer_id != null && document.getElementById(`dialog-${dialog.peer_id}`);
    if (row) { set(row, "archived", dialog.archived); const el = row.querySelector("progress"); if (el) el.value = dialog.archived; }
    waitLeft = run.flood_wait_seconds || 0; tick();
    live.querySelector("[data-finished]").hidden = ["queued", "running", "flood_wait"].includes(run.status);
  }
  let delay = 1000;
  function connect() {
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${live.dataset.ws}`);
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (event) => {
      const { kind, data } = JSON.parse(event.data);
      if (kind === "snapshot" && data.run) show(data.run);
      if (kind === "archive") show(data);
      if (kind === "snapshot" || kind === "status") set(document, "instance_status", data.label);
    };
    // 4401/4403: signed out or no role; retrying would not help. Otherwise reconnect with backoff.
    socket.onclose = (event) => { if (event.code !== 4401 && event.code !== 4403) setTimeout(connect, (delay = Math.min(delay * 2, 30000))); };
  }
  connect();
})();
