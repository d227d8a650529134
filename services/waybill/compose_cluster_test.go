package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// clusterCompose is what TestComposeClusterFile reads of
// docker-compose.cluster.yml beyond composeFile: replicas and ports.
type clusterCompose struct {
	Extra map[string]struct {
		Deploy struct {
			Replicas int `yaml:"replicas"`
		} `yaml:"deploy"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

var clusterNodes = []string{"nats1", "nats2", "nats3"}

// TestComposeClusterFile checks docker-compose.cluster.yml without a Docker
// engine: three NATS nodes routed into one JetStream cluster, each with its
// own name, store volume and health check; every service at two replicas or
// more, pointed at all three nodes with R3 streams, health-checked on its
// /readyz and started once every node is healthy.
func TestComposeClusterFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.cluster.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.cluster.yml: %v", err)
	}
	var x clusterCompose
	if err := yaml.Unmarshal(b, &x); err != nil {
		t.Fatalf("docker-compose.cluster.yml: %v", err)
	}

	volumes := map[string]bool{}
	names := map[string]bool{}
	for _, node := range clusterNodes {
		svc, ok := c.Services[node]
		if !ok {
			t.Errorf("NATS node %s missing", node)
			continue
		}
		if !strings.HasPrefix(svc.Image, "nats:2.1") {
			t.Errorf("%s: image %q, want nats 2.11+ (pinned priority groups)", node, svc.Image)
		}
		if len(svc.Configs) == 0 {
			t.Errorf("%s: no config", node)
			continue
		}
		conf := c.Configs[svc.Configs[0].Source].Content
		checkClusterConf(t, node, conf)
		name := x.Extra[node].Environment["NATS_SERVER_NAME"]
		if strings.Contains(conf, "$NATS_SERVER_NAME") && name == "" {
			t.Errorf("%s: NATS_SERVER_NAME not set", node)
		}
		if names[name] {
			t.Errorf("%s: server name %q not unique", node, name)
		}
		names[name] = true
		if len(svc.Volumes) != 1 || !strings.HasSuffix(svc.Volumes[0], ":/data") {
			t.Errorf("%s: volumes %v, want its own store volume on /data", node, svc.Volumes)
		} else {
			vol := strings.SplitN(svc.Volumes[0], ":", 2)[0]
			if volumes[vol] {
				t.Errorf("%s: store volume %s shared with another node", node, vol)
			}
			volumes[vol] = true
			if _, ok := c.Volumes[vol]; !ok {
				t.Errorf("%s: volume %s not declared", node, vol)
			}
		}
		if hc := strings.Join(svc.Healthcheck.Test, " "); !strings.Contains(hc, ":8222/healthz") {
			t.Errorf("%s: health check %q must probe the server's /healthz", node, hc)
		}
	}

	var urls []string
	for _, node := range clusterNodes {
		urls = append(urls, "nats://"+node+":4222")
	}
	for name, addr := range runAddrs {
		if name == "console" {
			continue // not part of the cluster stack yet
		}
		svc, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if r := x.Extra[name].Deploy.Replicas; r < 2 {
			t.Errorf("%s: %d replicas, want at least 2", name, r)
		}
		if len(svc.Command) != 1 || svc.Command[0] != "/usr/local/bin/"+name {
			t.Errorf("%s: command %v", name, svc.Command)
		}
		env := svc.Environment
		if env["HTTP_ADDR"] != addr {
			t.Errorf("%s: HTTP_ADDR %q, want %q", name, env["HTTP_ADDR"], addr)
		}
		got := strings.Split(env["NATS_URL"], ",")
		if strings.Join(got, ",") != strings.Join(urls, ",") {
			t.Errorf("%s: NATS_URL %q, want every node: %s", name, env["NATS_URL"], strings.Join(urls, ","))
		}
		if env["WAYBILL_STREAM_REPLICAS"] != "3" {
			t.Errorf("%s: WAYBILL_STREAM_REPLICAS %q, want 3", name, env["WAYBILL_STREAM_REPLICAS"])
		}
		hc := strings.Join(svc.Healthcheck.Test, " ")
		if !strings.Contains(hc, "waybill health") || !strings.Contains(hc, "127.0.0.1"+addr+"/readyz") {
			t.Errorf("%s: health check %q must probe its /readyz", name, hc)
		}
		for _, node := range clusterNodes {
			if svc.DependsOn[node].Condition != "service_healthy" {
				t.Errorf("%s: must wait for a healthy %s", name, node)
			}
		}
	}
	// Replicas cannot share one host port: ingress publishes a range.
	ports := x.Extra["ingress"].Ports
	if len(ports) != 1 || !regexp.MustCompile(`^"?\d+-\d+:8080"?$`).MatchString(ports[0]) {
		t.Errorf("ingress: ports %v, want a host port range for its replicas", ports)
	}
	if c.Services["projector"].DependsOn["postgres"].Condition != "service_healthy" {
		t.Error("projector: must wait for a healthy postgres")
	}
}

// checkClusterConf checks one node's nats-server configuration: JetStream
// with a store, a named cluster listening for routes, and a route to every
// node (a node's route to itself is ignored by the server).
func checkClusterConf(t *testing.T, node, conf string) {
	t.Helper()
	for _, want := range []string{"server_name:", "jetstream", "store_dir:", "cluster", "name:", "listen:", "routes"} {
		if !strings.Contains(conf, want) {
			t.Errorf("%s: config has no %q:\n%s", node, want, conf)
		}
	}
	for _, peer := range clusterNodes {
		if !strings.Contains(conf, "nats-route://"+peer+":6222") {
			t.Errorf("%s: no route to %s", node, peer)
		}
	}
	if strings.Contains(conf, "sync_interval: always") {
		t.Errorf("%s: sync_interval always is the single node's durability; R3 acks on a majority", node)
	}
}
