// urltracker dashboard: refreshes the live parts of a page and copies the
// push URL. Pages work without it, only without live updates.
"use strict";

(function () {
  const interval = Number(document.body.dataset.refreshMs) || 5000;

  // relative is dashboard/render.go's relative(): the time between t and
  // now in its largest whole unit.
  function relative(t, now) {
    let d = (now - t) / 1000;
    const future = d < 0;
    d = Math.abs(d);
    let s;
    if (d < 5) return "just now";
    else if (d < 60) s = Math.floor(d) + " s";
    else if (d < 3600) s = Math.floor(d / 60) + " min";
    else if (d < 48 * 3600) s = Math.floor(d / 3600) + " h";
    else s = Math.floor(d / 86400) + " days";
    return future ? "in " + s : s + " ago";
  }

  // localizeTimes shows each time relative to now, with the absolute time
  // in the browser's own time zone on hover.
  function localizeTimes(root) {
    const now = Date.now();
    root.querySelectorAll("time[datetime]").forEach((el) => {
      const t = new Date(el.getAttribute("datetime"));
      if (isNaN(t)) return;
      el.title = t.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" });
      el.textContent = relative(t.getTime(), now);
    });
  }
  localizeTimes(document);
  setInterval(() => localizeTimes(document), 15000);

  // refresh fetches one live part again and swaps it in, keeping open
  // <details> open. It leaves a part alone while keyboard focus is inside,
  // so that refreshing never moves the user's focus.
  async function refresh(el) {
    if (document.hidden || el.contains(document.activeElement)) {
      return;
    }
    let res;
    try {
      res = await fetch(el.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } });
    } catch (e) {
      return; // offline for a moment; try again next time
    }
    if (res.status === 401) {
      window.location.reload(); // signed out: the page leads to the login
      return;
    }
    if (!res.ok) {
      return;
    }
    const html = await res.text();
    const open = new Set(Array.from(el.querySelectorAll("details[open][id]"), (d) => d.id));
    el.innerHTML = html;
    localizeTimes(el);
    open.forEach((id) => {
      const d = document.getElementById(id);
      if (d) d.open = true;
    });
  }

  // After a refused form, start keyboard navigation at the list of errors,
  // whose links lead to the fields.
  const errors = document.getElementById("form-errors");
  if (errors) {
    errors.focus();
  }

  document.querySelectorAll("[data-live]").forEach((el) => {
    setInterval(() => refresh(el), interval);
  });

  // The Trackier connection test answers JSON; its advice says what works
  // or what to fix, and the flags say which part failed.
  function describeTest(res, ans) {
    if (!ans) {
      return "The test could not run (HTTP " + res.status + "). Reload the page and try again.";
    }
    if (!ans.advice) {
      return "The test could not run: " + (ans.error || "HTTP " + res.status);
    }
    const part = (name, v, ok, bad) => (v === true ? name + " " + ok : v === false ? name + " " + bad : name + " unknown");
    return ans.advice + " (" + [
      part("key", ans.key_valid, "valid", "refused"),
      part("IP", ans.ip_whitelisted, "whitelisted", "not whitelisted"),
      part("campaign", ans.campaign_found, ans.campaign_status || "found", "not found"),
    ].join(", ") + ")";
  }

  document.querySelectorAll("[data-trackier-test]").forEach((button) => {
    button.addEventListener("click", async () => {
      const out = document.getElementById(button.getAttribute("aria-controls"));
      const csrf = document.querySelector('input[name="csrf"]').value;
      button.disabled = true;
      out.textContent = "Testing…";
      try {
        const res = await fetch(button.dataset.trackierTest, {
          method: "POST",
          credentials: "same-origin",
          body: new URLSearchParams({ csrf: csrf }),
        });
        const ans = await res.json().catch(() => null);
        out.textContent = describeTest(res, ans);
      } catch (e) {
        out.textContent = "The test could not run: " + e.message;
      } finally {
        button.disabled = false;
      }
    });
  });

  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      const status = document.getElementById("copy-status");
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        status.textContent = "Copied.";
      } catch (e) {
        status.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
      }
    });
  });
})();
