// Package invoicedoc renders a posted invoice as documents: an EN 16931
// UBL 2.1 Invoice (UBL), a JSON document (JSON) and a one-page A4 PDF
// (PDF). It only turns values into bytes: it reads no database, stores
// nothing and must not import net/http, the api package or a store;
// callers load the invoice and its parties and keep the output.
package invoicedoc
