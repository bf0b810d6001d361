// After-sales: the queue of requests, and the resolve (approve or reject) and complete
// actions, used both in the queue and in an order's view.
import { useState } from "preact/hooks";
import { html, gql, money, when, newKey } from "../shared/client.js";
import { useQuery, Loading, Problems } from "../shared/ui.js";

export function ResolveForm({ request, onDone }) {
  const [note, setNote] = useState("");
  const [problems, setProblems] = useState([]);
  const [busy, setBusy] = useState(false);
  const run = async (name, variables, field) => {
    setBusy(true);
    const payload = (await gql(name, variables))[field];
    setBusy(false);
    setProblems(payload.userErrors);
    if (payload.request) { setNote(""); onDone(); }
  };
  if (request.status !== "OPEN" && request.status !== "APPROVED") return null;
  const id = `note-${request.id}`;
  return html`<form class="resolve-form" onSubmit=${(e) => e.preventDefault()} aria-label="Resolve the request">
    <div class="field"><label for=${id}>Note to the customer</label>
      <input id=${id} value=${note} onInput=${(e) => setNote(e.target.value)} /></div>
    <div class="row">
      ${request.status === "OPEN" && html`
        <button type="button" disabled=${busy} onClick=${() => run("AfterSalesRequestResolve", { requestId: request.id, approve: true, note: note || "Approved", idempotencyKey: newKey("approve") }, "afterSalesRequestResolve")}>Approve</button>
        <button type="button" class="secondary" disabled=${busy} onClick=${() => run("AfterSalesRequestResolve", { requestId: request.id, approve: false, note: note || "Rejected", idempotencyKey: newKey("reject") }, "afterSalesRequestResolve")}>Reject</button>`}
      ${request.status === "APPROVED" && html`
        <button type="button" disabled=${busy} onClick=${() => run("AfterSalesRequestComplete", { requestId: request.id, note }, "afterSalesRequestComplete")}>Complete (refund)</button>`}
    </div>
    <${Problems} problems=${problems} />
  </form>`;
}

export function AfterSalesQueue() {
  const [status, setStatus] = useState("OPEN");
  const state = useQuery(() => gql("AfterSalesRequests", { first: 50, status: status || null }), status);
  return html`<h1>After-sales</h1>
    <div class="filters"><div class="field"><label for="as-status">Status</label>
      <select id="as-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">Any</option>${["OPEN", "APPROVED", "REJECTED", "COMPLETED"].map((s) => html`<option value=${s}>${s}</option>`)}
      </select></div></div>
    <${Loading} state=${state}>${({ afterSalesRequests }) => html`<p class="muted">${afterSalesRequests.totalCount} requests</p>
      <ul class="lines">${afterSalesRequests.edges.map(({ node: r }) => html`<li class="after-sales" data-status=${r.status}>
        <a href=${`#/order/${encodeURIComponent(r.order.id)}`}>Order ${r.order.number}</a> <span class="tag">${r.kind}</span> <span class="tag">${r.status}</span>
        ${r.overdue ? html`<span class="tag bad">overdue</span>` : ""} <span class="muted">${when(r.createdAt)}</span>
        <div>“${r.reason}”${r.refundAmount ? ` · refund ${money(r.refundAmount)}` : ""}</div>
        <${ResolveForm} request=${r} onDone=${state.reload} />
      </li>`)}</ul>`}<//>`;
}
