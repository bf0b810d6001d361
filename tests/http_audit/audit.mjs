// Runs graphql-http's server audits against a live gateway; prints one JSON line per
// audit ({id, name, status, reason}) and exits 0 (the Python test judges the results).
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    if (result.response) {
      line.httpStatus = result.response.status;
      line.contentType = result.response.headers.get('content-type');
    }
  }
  console.log(JSON.stringify(line));
}
