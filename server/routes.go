package server

import (
	"net/http"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/dashboard"
	"github.com/urltracker/urltracker/trackierimport"
)

// addRoutes lists every route of the service.
func addRoutes(mux *http.ServeMux, d Deps) {
	// Who may call what: viewers read, operators run the service day to
	// day, admins change it. Every write is recorded in the audit log.
	viewer := requireRole(d, urltracker.RoleViewer)
	operator := requireRole(d, urltracker.RoleOperator)
	admin := requireRole(d, urltracker.RoleAdmin)

	mux.Handle("GET /api/trackier-webhook", handleWebhook(d))
	mux.Handle("POST /api/trackier-webhook", handleWebhook(d))
	mux.Handle("GET /api/trackier-status", handleStatus(d))
	mux.Handle("POST /api/trackier-emergency-toggle", operator(handleEmergencyToggle(d)))
	mux.Handle("POST /api/trackier-trigger/{offerID}", operator(handleTrigger(d)))
	mux.Handle("POST /trace", operator(handleTrace(d)))

	mux.Handle("POST /api/offers", admin(handleOfferCreate(d)))
	mux.Handle("GET /api/offers", viewer(handleOfferList(d)))
	mux.Handle("GET /api/offers/{id}", viewer(handleOfferGet(d)))
	mux.Handle("PATCH /api/offers/{id}", admin(handleOfferPatch(d)))
	mux.Handle("DELETE /api/offers/{id}", admin(handleOfferDelete(d)))
	mux.Handle("GET /api/offers/{id}/checks", viewer(handleOfferChecks(d)))
	mux.Handle("GET /api/offers/{id}/events", viewer(handleOfferEvents(d)))
	mux.Handle("GET /api/offers/{id}/actions", viewer(handleOfferActions(d)))
	mux.Handle("GET /api/offers/{id}/history", viewer(handleOfferHistory(d)))
	mux.Handle("POST /api/offers/{id}/trackier-test", operator(handleTrackierTest(d)))
	mux.Handle("POST /api/offers/{id}/actions/{actionID}/approve", operator(handleActionApprove(d)))
	mux.Handle("POST /api/trackier/import", admin(handleTrackierImport(d)))

	mux.Handle("GET /api/me", viewer(handleMe(d)))
	mux.Handle("POST /api/me/totp", viewer(handleTOTPStart(d)))
	mux.Handle("POST /api/me/totp/confirm", viewer(handleTOTPConfirm(d)))
	mux.Handle("GET /api/users", admin(handleUserList(d)))
	mux.Handle("POST /api/users", admin(handleUserCreate(d)))
	mux.Handle("GET /api/users/{id}", admin(handleUserGet(d)))
	mux.Handle("PATCH /api/users/{id}", admin(handleUserPatch(d)))
	mux.Handle("GET /api/tokens", viewer(handleTokenList(d)))
	mux.Handle("POST /api/tokens", viewer(handleTokenCreate(d)))
	mux.Handle("DELETE /api/tokens/{id}", viewer(handleTokenDelete(d)))
	mux.Handle("GET /api/sessions", viewer(handleSessionList(d)))
	mux.Handle("DELETE /api/sessions/{id}", viewer(handleSessionDelete(d)))
	mux.Handle("GET /api/audit", viewer(handleAudit(d)))

	mux.Handle("GET /api/openapi.json", handleOpenAPI())
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d))
	mux.Handle("GET /metrics", d.Metrics.Handler())

	mux.Handle("/api/", handleNotFound(mux))

	dashboard.Register(mux, dashboard.Deps{
		DB: d.DB, Queue: d.Queue, Runner: d.Runner, Tracer: d.Tracer, Logger: d.Logger,
		AdminToken: d.AdminToken, Auth: d.Auth, Instance: d.Instance, Now: d.Now,
		PushURL:      func(token string) string { return WebhookURL(d.PublicURL, token) },
		TrackierTest: handleTrackierTest(d),
		Import:       trackierimport.Importer{DB: d.DB, Trackier: d.Trackier}.Import,
	})
}
