package main

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The compose file cannot be run here (no Docker engine), so this test holds
// it to its promises: three services with healthchecks, the app waiting for
// healthy dependencies and pointed at them, state in named volumes.
func TestComposeFileWiresTheAppToPostgresAndMinio(t *testing.T) {
	t.Parallel()
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithWorkingDirectory("../.."), cli.WithName("messina"), cli.WithOsEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	for _, name := range []string{"postgres", "minio", "app"} {
		svc, ok := p.Services[name]
		if !ok {
			t.Fatalf("service %q missing", name)
		}
		if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 || svc.HealthCheck.Disable {
			t.Fatalf("service %q has no healthcheck", name)
		}
	}
	if !strings.HasPrefix(p.Services["postgres"].Image, "postgres:15") {
		t.Errorf("postgres image %q, want postgres:15", p.Services["postgres"].Image)
	}
	app := p.Services["app"]
	if app.Build == nil {
		t.Fatal("app is not built from the Dockerfile")
	}
	for _, dep := range []string{"postgres", "minio"} {
		d, ok := app.DependsOn[dep]
		if !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("app must wait for %s to be healthy, has %+v", dep, d)
		}
	}
	env := func(k string) string {
		v := app.Environment[k]
		if v == nil {
			t.Fatalf("app lacks %s", k)
		}
		return *v
	}
	for _, k := range []string{"MESSINA_DATABASE_URL", "MESSINA_OWNER_DATABASE_URL"} {
		u, err := url.Parse(env(k))
		if err != nil || u.Hostname() != "postgres" {
			t.Errorf("%s must point at the postgres service: %q", k, env(k))
		}
	}
	blob, err := url.Parse(env("MESSINA_BLOB_URL"))
	if err != nil || blob.Scheme != "s3" || !strings.HasPrefix(blob.Query().Get("endpoint"), "minio:") {
		t.Errorf("MESSINA_BLOB_URL must point at the minio service: %q", env("MESSINA_BLOB_URL"))
	}
	if env("AWS_ACCESS_KEY_ID") != *p.Services["minio"].Environment["MINIO_ROOT_USER"] {
		t.Error("the app's S3 key is not MinIO's user")
	}
	for _, svc := range []string{"postgres", "minio"} {
		vols := p.Services[svc].Volumes
		if len(vols) == 0 || vols[0].Type != types.VolumeTypeVolume {
			t.Errorf("%s keeps its data in no named volume", svc)
		}
	}
}

func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{"AS build", "CGO_ENABLED=0", "./cmd/messina", "USER nonroot"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Count(df, "FROM ") < 2 {
		t.Error("Dockerfile is not multi-stage")
	}
}
