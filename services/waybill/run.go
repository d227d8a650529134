package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/services/console"
	"github.com/waybill-dev/waybill/services/ingress"
	"github.com/waybill-dev/waybill/services/normalizer"
	"github.com/waybill-dev/waybill/services/projector"
	"github.com/waybill-dev/waybill/services/uspspoller"
)

// The services `waybill run` starts, and their addresses: the contract's defaults.
var (
	runServices = []string{"ingress", "normalizer", "projector", "uspspoller", "console"}
	runAddrs    = map[string]string{
		"ingress": ":8080", "normalizer": ":8081", "projector": ":8082", "uspspoller": ":8083", "console": ":8084",
	}
)

// devCredentials are generated once per data directory so a restart keeps
// working with the webhooks and scripts set up against the first run.
type devCredentials struct {
	WineshippingSecret string `json:"wineshipping_hmac_secret"`
	CarriyoKey         string `json:"carriyo_api_key"`
	SwiftpodToken      string `json:"swiftpod_bearer_token"`
	TenoviToken        string `json:"tenovi_header_token"`
	// ConsoleToken logs in to the console (WAYBILL_CONSOLE_TOKEN). Files
	// written before the console existed lack it; it is added on start.
	ConsoleToken string `json:"console_token"`
}

func (c devCredentials) env() map[string]string {
	return map[string]string{
		"WAYBILL_AUTH_WINESHIPPING": "hmac-sha256:aftership-hmac-sha256:" + c.WineshippingSecret,
		"WAYBILL_AUTH_CARRIYO":      "header:X-API-Key:" + c.CarriyoKey,
		"WAYBILL_AUTH_SWIFTPOD":     "bearer:" + c.SwiftpodToken,
		"WAYBILL_AUTH_TENOVI":       "header:Authorization:" + c.TenoviToken,
		"WAYBILL_CONSOLE_TOKEN":     c.ConsoleToken,
	}
}

func loadOrCreateCredentials(dir string) (devCredentials, bool, error) {
	path := filepath.Join(dir, "dev-credentials.json")
	secret := func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	var c devCredentials
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return c, false, fmt.Errorf("%s: %w", path, err)
		}
		if c.ConsoleToken != "" {
			return c, false, nil
		}
		c.ConsoleToken = secret()
	} else {
		c = devCredentials{secret(), secret(), secret(), secret(), secret()}
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return c, false, err
	}
	return c, true, nil
}

// cmdRun is `waybill run`: the whole pipeline in one process.
func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("WAYBILL_DATA_DIR", "var"), "directory for the embedded NATS store and the development credentials")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: waybill run [--data DIR]

Starts the whole pipeline in one process: an embedded JetStream server (data
in DIR/nats, fsync on every write) unless NATS_URL is set, the ingress
(:8080), normalizer (:8081), projector (:8082), USPS poller (:8083;
against a built-in fake USPS unless USPS_CLIENT_ID/USPS_CLIENT_SECRET are set)
and console (:8084); WAYBILL_<SERVICE>_ADDR moves one, WAYBILL_NATS_PORT the
embedded NATS (4222, or a free port when taken). Postgres from DATABASE_URL (created and migrated). Webhook
credentials (WAYBILL_AUTH_<SOURCE>) and the console token
(WAYBILL_CONSOLE_TOKEN) come from the environment or are generated for
development and printed. Ctrl-C drains every service; a restart resumes where it stopped.
`)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	baseEnv := service.NewEnv()
	log := service.NewLogger("waybill", baseEnv)
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}

	natsURL := os.Getenv("NATS_URL")
	if natsURL == "" {
		port, err := strconv.Atoi(envOr("WAYBILL_NATS_PORT", "4222"))
		if err != nil {
			return fmt.Errorf("WAYBILL_NATS_PORT: %w", err)
		}
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
			log.Warn().Int("port", port).Msg("port taken (another NATS server?): the embedded server takes a free port; export the NATS_URL printed below for other waybill commands")
			port = -1
		} else {
			ln.Close()
		}
		srv, err := streams.StartEmbedded(streams.EmbeddedConfig{
			StoreDir: filepath.Join(*dataDir, "nats"), Port: port, SyncAlways: true, Name: "waybill-dev",
		}, log)
		if err != nil {
			return fmt.Errorf("embedded NATS: %w", err)
		}
		defer srv.Stop()
		natsURL = srv.URL()
		log.Info().Str("url", natsURL).Str("store", filepath.Join(*dataDir, "nats")).Msg("embedded JetStream started (sync_interval: always)")
		fmt.Fprintf(os.Stderr, "NATS_URL=%s\n", natsURL)
	}

	creds, created, err := loadOrCreateCredentials(*dataDir)
	if err != nil {
		return err
	}
	overrides := map[string]string{"NATS_URL": natsURL}
	for k, v := range creds.env() {
		if os.Getenv(k) == "" { // explicit configuration wins
			overrides[k] = v
		}
	}
	printCredentials(creds, created, *dataDir)

	envFor := func(name string) *service.Env {
		m := environ()
		for k, v := range overrides {
			m[k] = v
		}
		m["HTTP_ADDR"] = envOr("WAYBILL_"+strings.ToUpper(name)+"_ADDR", runAddrs[name])
		return service.EnvFrom(m)
	}
	logFor := func(name string) zerolog.Logger { return service.NewLogger(name, envFor(name)) }

	type svc struct {
		name string
		run  func(context.Context) error
	}
	var svcs []svc
	var cfgErrs []error

	ie := envFor("ingress")
	icfg := ingress.LoadConfig(ie)
	cfgErrs = append(cfgErrs, ie.Err())
	svcs = append(svcs, svc{"ingress", func(ctx context.Context) error { return ingress.Run(ctx, icfg, logFor("ingress"), service.NewOps()) }})

	ne := envFor("normalizer")
	ncfg := normalizer.LoadConfig(ne)
	cfgErrs = append(cfgErrs, ne.Err())
	svcs = append(svcs, svc{"normalizer", func(ctx context.Context) error {
		return normalizer.Run(ctx, ncfg, logFor("normalizer"), service.NewOps())
	}})

	pe := envFor("projector")
	pcfg := projector.LoadConfig(pe)
	cfgErrs = append(cfgErrs, pe.Err())
	svcs = append(svcs, svc{"projector", func(ctx context.Context) error {
		return projector.Run(ctx, pcfg, logFor("projector"), service.NewOps())
	}})

	ue := envFor("uspspoller")
	ucfg := uspspoller.LoadConfig(ue)
	cfgErrs = append(cfgErrs, ue.Err())
	svcs = append(svcs, svc{"uspspoller", func(ctx context.Context) error {
		if !ucfg.HasCredentials() {
			if err := uspspoller.StartFakeUSPS(ctx, &ucfg, logFor("uspspoller")); err != nil {
				return err
			}
		}
		return uspspoller.Run(ctx, ucfg, logFor("uspspoller"), service.NewOps())
	}})

	ce := envFor("console")
	ccfg := console.LoadConfig(ce)
	cfgErrs = append(cfgErrs, ce.Err())
	svcs = append(svcs, svc{"console", func(ctx context.Context) error {
		return console.Run(ctx, ccfg, logFor("console"), service.NewOps())
	}})

	if err := errors.Join(cfgErrs...); err != nil {
		return err
	}

	// One service failing stops them all: a half pipeline silently
	// accepting webhooks it cannot process would be worse than none.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(svcs))
	for _, s := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.run(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", s.name, err)
				cancel()
			}
		}()
	}
	fmt.Fprintf(os.Stderr, "\nwaybill is running: webhooks %s/webhooks/<source>, console %s — Ctrl-C to stop\n\n",
		baseURL("ingress"), baseURL("console"))
	<-ctx.Done()
	log.Info().Msg("stopping: draining every service")
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func printCredentials(c devCredentials, created bool, dir string) {
	state := "kept in"
	if created {
		state = "generated into"
	}
	fmt.Fprintf(os.Stderr, `
  DEVELOPMENT CREDENTIALS (%s %s; for development only — set
  WAYBILL_AUTH_<SOURCE> for anything real):
    wineshipping  header aftership-hmac-sha256: base64 HMAC-SHA256 of the body with %s
    carriyo       header X-API-Key: %s
    swiftpod      header Authorization: Bearer %s
    tenovi        header Authorization: %s
`, state, filepath.Join(dir, "dev-credentials.json"), c.WineshippingSecret, c.CarriyoKey, c.SwiftpodToken, c.TenoviToken)
	// The console token guards references (patient and device ids): it is
	// shown once, when generated, not on every start.
	switch {
	case os.Getenv("WAYBILL_CONSOLE_TOKEN") != "":
		fmt.Fprintf(os.Stderr, "    console       %s, token from WAYBILL_CONSOLE_TOKEN\n", baseURL("console"))
	case created:
		fmt.Fprintf(os.Stderr, "    console       %s, log in with token %s (shown once)\n", baseURL("console"), c.ConsoleToken)
	default:
		fmt.Fprintf(os.Stderr, "    console       %s, token in %s\n", baseURL("console"), filepath.Join(dir, "dev-credentials.json"))
	}
}

// baseURL is where a service of `waybill run` answers, for people.
func baseURL(service string) string {
	addr := envOr("WAYBILL_"+strings.ToUpper(service)+"_ADDR", runAddrs[service])
	if strings.HasPrefix(addr, ":") {
		addr = "localhost" + addr
	}
	return "http://" + addr
}

// environ is the process environment as a map.
func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
