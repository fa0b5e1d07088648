// Package api is Messina's JSON HTTP API: the route table (gorilla/mux),
// middleware (request id, logging, recovery, authentication, limits, rate
// limits, idempotency), RFC 9457 problem+json errors and the OpenAPI
// contract in openapi.yaml, which the tests hold every response to.
// Handlers parse, call a domain service and encode; business rules live in
// the domain packages and the database.
package api
