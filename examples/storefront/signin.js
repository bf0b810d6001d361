// Sign-in for the demo: pick a seeded customer; the gateway's development-token endpoint
// (only there while GATEWAY_EXAMPLES is on) signs the token `gateway token customer` would.
import { useState } from "preact/hooks";
import { html, demoAccounts, signIn } from "../shared/client.js";
import { useQuery, Loading } from "../shared/ui.js";

export function SignIn({ next }) {
  const accounts = useQuery(demoAccounts, "accounts");
  const [problem, setProblem] = useState(null);
  const choose = async (email) => {
    try {
      await signIn(email);
      location.hash = next;
    } catch (error) {
      setProblem(error.message);
    }
  };
  return html`<h1>Sign in</h1>
    <p class="muted">A demo: choose one of the seeded customers. A real shop signs buyers in
    with its identity provider; the gateway only checks the token.</p>
    ${problem && html`<p class="error" role="alert">${problem}</p>`}
    <${Loading} state=${accounts}>${(data) => html`<ul class="lines">
      ${data.customers.map((c) => html`<li class="row">
        <span><strong>${c.name}</strong> <span class="muted">${c.email}</span></span>
        <button type="button" onClick=${() => choose(c.email)} aria-label=${`Sign in as ${c.name} (${c.email})`}>Sign in</button>
      </li>`)}
    </ul>`}<//>`;
}
