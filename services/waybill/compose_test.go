package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Volumes []string `yaml:"volumes"`
		Configs []struct {
			Source string `yaml:"source"`
		} `yaml:"configs"`
	} `yaml:"services"`
	Configs map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestComposeFileMatchesTheContract checks docker-compose.yml without a
// Docker engine: every service's binary, address, environment, health
// check and dependencies against DESIGN.md's contract.
func TestComposeFileMatchesTheContract(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for name, addr := range runAddrs {
		svc, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if svc.Build == nil || svc.Image == "" {
			t.Errorf("%s: must be built from the repository's Dockerfile", name)
		}
		if len(svc.Command) != 1 || svc.Command[0] != "/usr/local/bin/"+name {
			t.Errorf("%s: command %v, want /usr/local/bin/%s", name, svc.Command, name)
		}
		env := svc.Environment
		if env["HTTP_ADDR"] != addr {
			t.Errorf("%s: HTTP_ADDR %q, want %q", name, env["HTTP_ADDR"], addr)
		}
		if env["NATS_URL"] != "nats://nats:4222" {
			t.Errorf("%s: NATS_URL %q", name, env["NATS_URL"])
		}
		if !strings.HasPrefix(env["DATABASE_URL"], "postgres://") || env["WAYBILL_STREAM_REPLICAS"] != "1" {
			t.Errorf("%s: DATABASE_URL/WAYBILL_STREAM_REPLICAS not set", name)
		}
		hc := strings.Join(svc.Healthcheck.Test, " ")
		if !strings.Contains(hc, "waybill health") || !strings.Contains(hc, "127.0.0.1"+addr+"/readyz") {
			t.Errorf("%s: health check %q must probe its /readyz", name, hc)
		}
		if svc.DependsOn["nats"].Condition != "service_healthy" {
			t.Errorf("%s: must wait for a healthy nats", name)
		}
	}
	for _, name := range []string{"projector", "console"} {
		if c.Services[name].DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s: must wait for a healthy postgres", name)
		}
	}
	for _, src := range []string{"wineshipping", "carriyo", "swiftpod", "tenovi"} {
		if c.Services["ingress"].Environment["WAYBILL_AUTH_"+strings.ToUpper(src)] == "" {
			t.Errorf("ingress: WAYBILL_AUTH_%s not set", strings.ToUpper(src))
		}
	}
	if len(c.Services["console"].Environment["WAYBILL_CONSOLE_TOKEN"]) < 16 {
		t.Errorf("console: WAYBILL_CONSOLE_TOKEN must be set (16 characters or more)")
	}
	nats := c.Services["nats"]
	if !strings.HasPrefix(nats.Image, "nats:2.1") || len(nats.Configs) == 0 || len(nats.Volumes) == 0 || len(nats.Healthcheck.Test) == 0 {
		t.Errorf("nats: %+v", nats)
	}
	conf := c.Configs[nats.Configs[0].Source].Content
	if !strings.Contains(conf, "max_payload: 8MB") {
		t.Errorf("nats config must raise max_payload above a 1 MiB webhook plus headers:\n%s", conf)
	}
	if !strings.Contains(conf, "sync_interval: always") || !strings.Contains(conf, "store_dir") {
		t.Errorf("nats config must enable JetStream with sync_interval: always:\n%s", conf)
	}
	if pg := c.Services["postgres"]; len(pg.Healthcheck.Test) == 0 || len(pg.Volumes) == 0 {
		t.Errorf("postgres: needs a volume and a health check")
	}
}
