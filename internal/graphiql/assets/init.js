// Starts GraphiQL on the page internal/graphiql serves: the endpoint comes
// from the data-endpoint attribute (a URL relative to the page), so that the
// page works behind a reverse proxy that adds a path prefix.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: root.getAttribute("data-endpoint") });
  var params = new URLSearchParams(window.location.search);
  var props = { fetcher: fetcher, defaultEditorToolbarOpen: true };
  if (params.has("query")) {
    props.query = params.get("query");
  }
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
