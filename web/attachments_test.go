package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/messina-oms/messina/auth"
)

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// revisionRows are the revision table's rows by number: the cells of
// #, file name, type, size, SHA-256, author, time and comment.
func revisionRows(t *testing.T, p *page) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range p.rows(t, "revisions") {
		out[r[0]] = r
	}
	return out
}

func TestDocumentsUploadReviseDownloadDiffAndRestoreThroughForms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.smallOrder(t, b.ukCustomer)
	br := b.signedIn(t, b.token(t, auth.RoleStaff))
	orderPath := "/orders/" + o.ID.String()
	v1 := []byte("Service agreement\nterm: 12 months\nprice: 120 GBP\n")
	v2 := []byte("Service agreement\nterm: 24 months\nprice: 120 GBP\n")

	// The order page's upload form: text fields first, then the file.
	form := byID(br.get(orderPath).Doc, "upload")
	if form == nil || attr(form, "enctype") != "multipart/form-data" || attr(form, "action") != orderPath+"/attachments" {
		t.Fatal("no multipart upload form on the order page")
	}
	var names []string
	for _, in := range findAll(form, tag("input")) {
		names = append(names, attr(in, "name"))
	}
	if !slices.Equal(names, []string{"name", "comment", "file"}) {
		t.Fatalf("upload fields in order %v", names)
	}

	res := br.upload(orderPath+"/attachments", [][2]string{{"name", "Contract"}, {"comment", "signed"}},
		file{name: "contract.txt", contentType: "text/plain", content: v1}).wantStatus(t, http.StatusSeeOther)
	attPath, _, _ := strings.Cut(res.location(t), "?")
	if !strings.HasPrefix(attPath, "/attachments/") || !strings.HasSuffix(res.location(t), "?msg=uploaded") {
		t.Fatalf("after upload: %q", res.location(t))
	}
	p := br.get(attPath).wantStatus(t, http.StatusOK)
	rev1 := revisionRows(t, p)["1"]
	if p.title() != "Contract" || rev1 == nil || rev1[1] != "contract.txt" || !strings.HasPrefix(rev1[2], "text/plain") ||
		rev1[3] != fmt.Sprintf("%d B", len(v1)) || rev1[4] != hexSHA(v1)[:12]+"…" || !strings.Contains(rev1[5], "token:web staff") || !strings.Contains(rev1[7], "signed") {
		t.Fatalf("revision 1 row: %q", rev1)
	}
	if att := br.get(orderPath).rows(t, "attachments"); len(att) != 1 || att[0][0] != "Contract" || att[0][1] != "1" {
		t.Fatalf("the order lists %v", att)
	}

	res = br.upload(attPath+"/revisions", [][2]string{{"comment", "longer term"}},
		file{name: "contract-v2.txt", contentType: "text/plain", content: v2}).wantStatus(t, http.StatusSeeOther)
	if res.location(t) != attPath+"?msg=revision" {
		t.Fatalf("after a revision: %q", res.location(t))
	}
	p = br.get(attPath).wantStatus(t, http.StatusOK)
	rows := p.rows(t, "revisions")
	if len(rows) != 2 || rows[0][0] != "2" || rows[0][1] != "contract-v2.txt" || rows[1][0] != "1" {
		t.Fatalf("revisions newest first: %v", rows)
	}

	// Every revision has a download link, and each gives its own bytes.
	for n, want := range map[string][]byte{"1": v1, "2": v2} {
		link := attPath + "/revisions/" + n + "/content"
		if !slices.Contains(p.links(), link) {
			t.Fatalf("no download link %s in %v", link, p.links())
		}
		d := br.get(link).wantStatus(t, http.StatusOK)
		if d.Body != string(want) || d.Header.Get("ETag") != `"`+hexSHA(want)+`"` || d.Header.Get("Content-Security-Policy") != "sandbox" ||
			!strings.HasPrefix(d.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("revision %s: %q %v", n, d.Body, d.Header)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, br.base+attPath+"/revisions/1/content", nil)
	req.Header.Set("If-None-Match", `"`+hexSHA(v1)+`"`)
	if res := br.do(req); res.Status != http.StatusNotModified || res.Body != "" {
		t.Fatalf("If-None-Match: %d", res.Status)
	}
	req, _ = http.NewRequest(http.MethodHead, br.base+attPath+"/revisions/1/content", nil)
	if res := br.do(req); res.Status != http.StatusOK || res.Header.Get("Content-Length") != strconv.Itoa(len(v1)) || res.Body != "" {
		t.Fatalf("HEAD: %d %v", res.Status, res.Header)
	}
	br.get(attPath+"/revisions/9/content").wantStatus(t, http.StatusNotFound)

	// The diff form preselects the last two revisions.
	cmp := p.mustID(t, "compare")
	var selected []string
	for _, o := range findAll(cmp, tag("option")) {
		if _, ok := attrOK(o, "selected"); ok {
			selected = append(selected, attr(o, "value"))
		}
	}
	if !slices.Equal(selected, []string{"1", "2"}) {
		t.Fatalf("compare preselects %v", selected)
	}
	diff := br.get(attPath+"/diff?"+url.Values{"from": {"1"}, "to": {"2"}}.Encode()).wantStatus(t, http.StatusOK)
	meta := map[string][]string{}
	for _, r := range diff.rows(t, "metadata") {
		meta[r[0]] = r
	}
	if !slices.Equal(meta["filename"], []string{"filename", "contract.txt", "contract-v2.txt"}) || meta["sha256"] == nil ||
		!slices.Equal(meta["comment"], []string{"comment", "signed", "longer term"}) || meta["size"] != nil {
		t.Fatalf("metadata %v", meta)
	}
	var added, removed []string
	for _, s := range findAll(diff.mustID(t, "unified"), tag("span")) {
		switch attr(s, "class") {
		case "add":
			added = append(added, text(s))
		case "del":
			removed = append(removed, text(s))
		}
	}
	if !slices.Equal(added, []string{"+term: 24 months"}) || !slices.Equal(removed, []string{"-term: 12 months"}) {
		t.Fatalf("unified diff: added %v, removed %v", added, removed)
	}
	if s := text(diff.mustID(t, "summary")); s != "text differs" {
		t.Fatalf("summary %q", s)
	}
	if bad := br.get(attPath+"/diff?from=1").wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"to: must be a revision number"}) {
		t.Fatalf("diff without to: %v", fieldErrors(bad))
	}

	// Restore revision 1: a new revision 3 with its content; history stays.
	var restore url.Values
	for _, f := range p.postForms() {
		if attr(f, "action") == attPath+"/restore" {
			in := findAll(f, tag("input"))[0]
			if attr(in, "value") == "1" {
				restore = url.Values{attr(in, "name"): {"1"}}
			}
		}
	}
	if restore == nil {
		t.Fatalf("no restore button for revision 1: %v", p.postActions())
	}
	br.post(attPath+"/restore", restore).wantStatus(t, http.StatusSeeOther)
	p = br.get(attPath+"?msg=restored").wantStatus(t, http.StatusOK)
	if !strings.Contains(text(p.Doc), "The revision was restored as a new revision.") {
		t.Fatal("no restore notice")
	}
	rev3 := revisionRows(t, p)["3"]
	if rev3 == nil || rev3[1] != "contract.txt" || rev3[4] != hexSHA(v1)[:12]+"…" || !strings.Contains(rev3[7], "(restored from 1)") {
		t.Fatalf("revision 3: %q", rev3)
	}
	if got := br.get(attPath+"/revisions/3/content").wantStatus(t, http.StatusOK); got.Body != string(v1) {
		t.Fatalf("revision 3 content %q", got.Body)
	}
	if len(p.rows(t, "revisions")) != 3 {
		t.Fatal("restoring rewrote the history")
	}
	if same := br.get(attPath + "/diff?from=1&to=3"); text(same.mustID(t, "summary")) != "content identical" || byID(same.Doc, "unified") != nil {
		t.Fatalf("diff of a restore: %s", text(same.Doc))
	}
}

func TestUploadFormErrorsAreFriendlyPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.smallOrder(t, b.ukCustomer)
	br := b.signedIn(t, b.token(t, auth.RoleStaff))
	path := "/orders/" + o.ID.String() + "/attachments"

	// A file input left empty sends a part without a file name.
	none := br.upload(path, [][2]string{{"comment", "x"}}, file{name: "", contentType: "application/octet-stream"}).wantStatus(t, http.StatusUnprocessableEntity)
	if !slices.Equal(fieldErrors(none), []string{"file: is required"}) {
		t.Fatalf("no file: %v", fieldErrors(none))
	}
	empty := br.upload(path, nil, file{name: "empty.txt", contentType: "text/plain"}).wantStatus(t, http.StatusBadRequest)
	if !strings.Contains(text(empty.Doc), "The file is empty.") {
		t.Fatalf("empty file: %s", text(empty.Doc))
	}
	big := br.upload(path, nil, file{name: "big.bin", contentType: "application/octet-stream", content: make([]byte, 1<<20+1)}).wantStatus(t, http.StatusRequestEntityTooLarge)
	if !strings.Contains(text(big.Doc), "exceeds the upload size limit") {
		t.Fatalf("too large: %s", text(big.Doc))
	}
	notMultipart := br.post(path, url.Values{"file": {"x"}}).wantStatus(t, http.StatusBadRequest)
	if !strings.Contains(text(notMultipart.Doc), "multipart") {
		t.Fatalf("urlencoded upload: %s", text(notMultipart.Doc))
	}
	if atts := br.get("/orders/"+o.ID.String()).rows(t, "attachments"); len(atts) != 1 || atts[0][0] != "No documents yet." {
		t.Fatalf("a refused upload left %v", atts)
	}
}

func TestAnotherSitesDocumentsAreNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.smallOrder(t, b.ukCustomer)
	staff := b.signedIn(t, b.token(t, auth.RoleStaff, "UK"))
	res := staff.upload("/orders/"+uk.ID.String()+"/attachments", nil, file{name: "a.txt", contentType: "text/plain", content: []byte("uk only")}).wantStatus(t, http.StatusSeeOther)
	attPath, _, _ := strings.Cut(res.location(t), "?")

	fr := b.signedIn(t, b.token(t, auth.RoleStaff, "FR"))
	for name, res := range map[string]*page{
		"page":     fr.get(attPath),
		"download": fr.get(attPath + "/revisions/1/content"),
		"diff":     fr.get(attPath + "/diff?from=1&to=1"),
		"revision": fr.upload(attPath+"/revisions", nil, file{name: "b.txt", contentType: "text/plain", content: []byte("fr")}),
		"restore":  fr.post(attPath+"/restore", url.Values{"revision": {"1"}}),
	} {
		res.wantStatus(t, http.StatusNotFound)
		if strings.Contains(res.Body, "uk only") || strings.Contains(res.Body, "a.txt") {
			t.Errorf("%s leaks the document: %s", name, res.Body)
		}
	}
	if rows := staff.get(attPath).rows(t, "revisions"); len(rows) != 1 {
		t.Fatalf("a FR user changed a UK document: %v", rows)
	}

	// An auditor reads and downloads, but has no forms.
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))
	p := aud.get(attPath).wantStatus(t, http.StatusOK)
	if got := p.postActions(); len(got) != 0 || byID(p.Doc, "upload-revision") != nil {
		t.Fatalf("an auditor's attachment page posts to %v", got)
	}
	if aud.get(attPath+"/revisions/1/content").wantStatus(t, http.StatusOK).Body != "uk only" {
		t.Fatal("an auditor cannot download")
	}
	aud.post(attPath+"/restore", url.Values{"revision": {"1"}}).wantStatus(t, http.StatusForbidden)
}
