/**
 * GET /docs: one self-contained page (no CDN, no build step) that renders /openapi.json:
 * the routes by tag, with their scope, parameters, request and response schemas.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Engram API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem; color: #1d2330; }
  h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d8dce4; text-transform: capitalize; }
  details { border: 1px solid #d8dce4; border-radius: 6px; margin: .5rem 0; padding: .4rem .8rem; }
  summary { cursor: pointer; } summary:focus-visible { outline: 2px solid #2f6fde; }
  .m { display: inline-block; min-width: 4.5rem; font-weight: 600; font-family: ui-monospace, monospace; }
  .get { color: #1b7f3b; } .post { color: #2f6fde; } .patch { color: #a15c00; } .delete { color: #b3261e; }
  code, pre { font-family: ui-monospace, monospace; font-size: 13px; } pre { background: #f4f6f9; padding: .6rem; overflow: auto; border-radius: 4px; }
  .scope { color: #5b6475; font-size: 13px; margin-left: .5rem; } table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1>Engram API</h1>
<p id="intro">Loading <a href="/openapi.json">/openapi.json</a>…</p>
<main id="routes"></main>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const json = (v) => '<pre>' + esc(JSON.stringify(v, null, 2)) + '</pre>';
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('intro').innerHTML = esc(doc.info.description) + ' Version ' + esc(doc.info.version) + '. Machine-readable: <a href="/openapi.json">/openapi.json</a>.';
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const tag = op.tags[0]; if (!byTag.has(tag)) byTag.set(tag, []); byTag.get(tag).push({ path, method, op });
  }
  // A named schema is shown with its definition; one of several (POST /locks), each of them so.
  const schema = (s) => s && s.$ref ? { ref: s.$ref, schema: doc.components.schemas[s.$ref.split('/').pop()] } : s && s.oneOf ? { oneOf: s.oneOf.map(schema) } : s;
  let html = '';
  for (const [tag, ops] of byTag) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of ops) {
      html += '<details><summary><span class="m ' + method + '">' + method.toUpperCase() + '</span><code>' + esc(path) + '</code> ' + esc(op.summary) + '<span class="scope">scope: ' + esc(op['x-engram-scope']) + '</span></summary>';
      if (op.parameters.length) html += '<table><tr><th>parameter</th><th>in</th><th>description</th></tr>' + op.parameters.map((p) => '<tr><td><code>' + esc(p.name) + '</code></td><td>' + esc(p.in) + '</td><td>' + esc(p.description || '') + '</td></tr>').join('') + '</table>';
      if (op.requestBody) html += '<h4>Request body</h4>' + json(schema(op.requestBody.content['application/json'].schema));
      for (const [status, r] of Object.entries(op.responses)) {
        const c = r.content && Object.values(r.content)[0];
        html += '<h4>' + esc(status) + ' ' + esc(r.description) + '</h4>' + (c && c.schema && (c.schema.$ref || c.schema.oneOf) && !status.startsWith('4') && !status.startsWith('5') ? json(schema(c.schema)) : '');
      }
      html += '</details>';
    }
  }
  document.getElementById('routes').innerHTML = html;
}, (err) => { document.getElementById('intro').textContent = 'Could not load /openapi.json: ' + err; });
</script>
</body>
</html>
`;
