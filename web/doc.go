// Package web is Messina's server-rendered user interface for staff and
// auditors: html/template pages and one CSS file, embedded with embed.FS so
// the binary serves them without a CDN or a build step. It is mounted by
// `messina serve` at / beside the JSON API (which stays under /v1).
//
// Staff and admins sign in with an API token pasted into a form, browse
// and filter orders, move them through their lifecycle, and upload,
// download, compare and restore their documents; they give notice on and
// cancel contracts, take invoice runs from plan to post, render invoice
// documents and credit invoices. Everyone signed in reads contracts,
// runs, invoices and the KPI reports. Auditors and admins read an order's
// audit timeline and the audit event list; auditors write nothing. Every page authenticates the token on every request (a revoked
// or expired token, or a disabled user, is refused at once), honours roles
// and site limits, and reaches PostgreSQL through the domain services,
// whose transactions carry the principal into row-level security and the
// audit trail.
//
// No page needs JavaScript. Cross-site request forgery is refused twice:
// the session cookie is SameSite=Strict, and every state-changing request
// passes net/http's CrossOriginProtection.
//
// Handlers call orders, contracts, kpi, invoicedoc, filestore, audit and
// auth directly; this package must not import api/ (a sibling, not a
// layer below) and the domain packages must never import it.
package web
