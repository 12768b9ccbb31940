package server

import (
	"net/http"

	"github.com/urltracker/urltracker/dashboard"
	"github.com/urltracker/urltracker/trackierimport"
)

// addRoutes lists every route of the service.
func addRoutes(mux *http.ServeMux, d Deps) {
	admin := requireAdmin(d.AdminToken)

	mux.Handle("GET /api/trackier-webhook", handleWebhook(d))
	mux.Handle("POST /api/trackier-webhook", handleWebhook(d))
	mux.Handle("GET /api/trackier-status", handleStatus(d))
	mux.Handle("POST /api/trackier-emergency-toggle", admin(handleEmergencyToggle(d)))
	mux.Handle("POST /api/trackier-trigger/{offerID}", admin(handleTrigger(d)))
	mux.Handle("POST /trace", admin(handleTrace(d)))

	mux.Handle("POST /api/offers", admin(handleOfferCreate(d)))
	mux.Handle("GET /api/offers", admin(handleOfferList(d)))
	mux.Handle("GET /api/offers/{id}", admin(handleOfferGet(d)))
	mux.Handle("PATCH /api/offers/{id}", admin(handleOfferPatch(d)))
	mux.Handle("DELETE /api/offers/{id}", admin(handleOfferDelete(d)))
	mux.Handle("GET /api/offers/{id}/checks", admin(handleOfferChecks(d)))
	mux.Handle("GET /api/offers/{id}/events", admin(handleOfferEvents(d)))
	mux.Handle("GET /api/offers/{id}/actions", admin(handleOfferActions(d)))
	mux.Handle("POST /api/offers/{id}/trackier-test", admin(handleTrackierTest(d)))
	mux.Handle("POST /api/offers/{id}/actions/{actionID}/approve", admin(handleActionApprove(d)))
	mux.Handle("POST /api/trackier/import", admin(handleTrackierImport(d)))
	mux.Handle("GET /api/offers/{id}/deliveries", admin(handleOfferDeliveries(d)))
	mux.Handle("POST /api/offers/{id}/snooze", admin(handleOfferSnooze(d)))

	mux.Handle("POST /api/channels", admin(handleChannelCreate(d)))
	mux.Handle("GET /api/channels", admin(handleChannelList(d)))
	mux.Handle("GET /api/channels/{id}", admin(handleChannelGet(d)))
	mux.Handle("PATCH /api/channels/{id}", admin(handleChannelPatch(d)))
	mux.Handle("DELETE /api/channels/{id}", admin(handleChannelDelete(d)))
	mux.Handle("POST /api/channels/{id}/test", admin(handleChannelTest(d)))
	mux.Handle("GET /api/channels/{id}/deliveries", admin(handleChannelDeliveries(d)))

	mux.Handle("POST /api/maintenance", admin(handleMaintenanceCreate(d)))
	mux.Handle("GET /api/maintenance", admin(handleMaintenanceList(d)))
	mux.Handle("GET /api/maintenance/{id}", admin(handleMaintenanceGet(d)))
	mux.Handle("PATCH /api/maintenance/{id}", admin(handleMaintenancePatch(d)))
	mux.Handle("DELETE /api/maintenance/{id}", admin(handleMaintenanceDelete(d)))

	mux.Handle("GET /api/openapi.json", handleOpenAPI())
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d))
	mux.Handle("GET /metrics", d.Metrics.Handler())

	mux.Handle("/api/", handleNotFound(mux))

	dashboard.Register(mux, dashboard.Deps{
		DB: d.DB, Queue: d.Queue, Runner: d.Runner, Tracer: d.Tracer, Logger: d.Logger,
		AdminToken: d.AdminToken, Instance: d.Instance, Now: d.Now,
		PushURL:      func(token string) string { return WebhookURL(d.PublicURL, token) },
		TrackierTest: handleTrackierTest(d),
		Import:       trackierimport.Importer{DB: d.DB, Trackier: d.Trackier}.Import,
	})
}
