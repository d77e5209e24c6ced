package server

import (
	"net/http"

	"github.com/gander-xmpp/gander/internal/config"
)

// mountGraphQL serves a mongoose_graphql_handler. The GraphQL API is not
// implemented yet: the endpoint says so clearly.
func (s *Server) mountGraphQL(mux *http.ServeMux, g config.GraphQLHandler) error {
	mux.HandleFunc(g.Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotImplemented)
		w.Write([]byte(`{"errors":[{"message":"The GraphQL API is not available in this version of Gander","extensions":{"code":"not_implemented"}}]}`))
	})
	return nil
}
