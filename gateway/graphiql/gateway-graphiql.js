// The page's bootstrap, served by the gateway (no inline script: the page's CSP is
// script-src 'self'). Reads its settings from the page's JSON data block, then mounts
// GraphiQL with the explorer plugin and the example tabs.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var NOTE = config.notesPrefix; // header keys starting with it are notes, never sent

  function withoutNotes(headers) {
    var sent = {};
    Object.keys(headers || {}).forEach(function (name) {
      if (name.indexOf(NOTE) !== 0) sent[name] = headers[name];
    });
    return sent;
  }

  // The page's own URL without its query string: same origin, whatever the mount path.
  var url = window.location.href.split("?")[0].split("#")[0];
  var send = GraphiQL.createFetcher({ url: url });

  function fetcher(params, options) {
    var opts = Object.assign({}, options, {
      headers: withoutNotes(options && options.headers),
    });
    return send(params, opts);
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      visiblePlugin: explorer,
      defaultTabs: config.tabs,
      // GraphiQL fills the first tab's editors from these, not from defaultTabs[0]; a new
      // tab ("+") starts with these headers too, so every tab explains the token.
      defaultHeaders: config.tabs[0].headers,
      // Open on Headers: they explain how to paste a demo token.
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Tokens stay out of localStorage; the example tabs themselves are remembered.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
