// Small pieces both apps share: the hash router, problems shown by field, and a form field.
import { useEffect, useState } from "preact/hooks";
import { html } from "./client.js";

export function useRoute() {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const onChange = () => {
      setHash(location.hash || "#/");
      window.scrollTo(0, 0);
      const main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    };
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  const [path, search = ""] = hash.slice(1).split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

export function useSession(read) {
  const [value, setValue] = useState(read());
  useEffect(() => {
    const onChange = () => setValue(read());
    window.addEventListener("session", onChange);
    return () => window.removeEventListener("session", onChange);
  }, []);
  return value;
}

// A query's data, reloaded when its key changes; {data, error, loading, reload}.
export function useQuery(load, key) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => { live = false; };
  }, [key, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Loading({ state, children }) {
  if (state.error) return html`<p class="error" role="alert">${state.error.message}</p>`;
  if (state.loading && !state.data) return html`<p class="loading" aria-busy="true">Loading…</p>`;
  return children(state.data);
}

// userErrors whose field path ends in `name` (or whose lineId is `lineId`).
export function problemsFor(problems, { field, lineId } = {}) {
  return (problems || []).filter((p) => {
    if (lineId) return p.lineId === lineId;
    if (field) return (p.field || []).includes(field) && !p.lineId;
    return false;
  });
}

export function Problems({ problems, id }) {
  if (!problems || problems.length === 0) return null;
  return html`<ul class="problems" id=${id} role="alert">
    ${problems.map((p) => html`<li data-code=${p.code}>${p.message}</li>`)}
  </ul>`;
}

export function Field({ label, name, value, onInput, problems = [], type = "text", required = false, autocomplete, inputmode }) {
  const id = `field-${name}`;
  const problemId = `${id}-problems`;
  return html`<div class="field">
    <label for=${id}>${label}${required ? html` <span aria-hidden="true">*</span>` : ""}</label>
    <input id=${id} name=${name} type=${type} value=${value} required=${required}
      autocomplete=${autocomplete} inputmode=${inputmode}
      aria-invalid=${problems.length > 0 ? "true" : "false"}
      aria-describedby=${problems.length ? problemId : undefined}
      onInput=${(e) => onInput(e.target.value)} />
    <${Problems} problems=${problems} id=${problemId} />
  </div>`;
}
