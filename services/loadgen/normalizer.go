package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	_ "github.com/waybill-dev/waybill/pkg/providers/all"
	"github.com/waybill-dev/waybill/pkg/streams"
)

type normalizerOptions struct {
	webhooks int
	bin      string
	profile  string // save a CPU profile of the normalizer here
}

// rawMix is the Wineshipping-heavy mix of the normalizer benchmark: the
// seed payloads, each made a distinct shipment.
var rawMix = []struct {
	source, file, tracking string
	weight                 int
}{
	{"wineshipping", "seed-tracking-update.json", "1Z59E877A871526000", 7},
	{"carriyo", "seed-delivered.json", "DHL-9123-7700-1234", 1},
	{"swiftpod", "seed-tracking-number.json", "9400100109361129278357", 1},
	{"tenovi", "seed-shipped-usps.json", "9400111899223512345670", 1},
}

func runNormalizer(o normalizerOptions) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "waybill-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: dir}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		return err
	}

	// The backlog: raw messages as ingress stores them.
	unique := map[string]bool{}
	eventBytes := 0
	var mix []int
	for i, m := range rawMix {
		for w := 0; w < m.weight; w++ {
			mix = append(mix, i)
		}
	}
	for i := 0; i < o.webhooks; i++ {
		m := rawMix[mix[i%len(mix)]]
		body, err := os.ReadFile(filepath.Join(root, "pkg", "providers", m.source, "testdata", m.file))
		if err != nil {
			return err
		}
		tn := fmt.Sprintf("%s%08d", m.tracking[:len(m.tracking)-8], i)
		body = bytes.ReplaceAll(body, []byte(m.tracking), []byte(tn))
		hdr := nats.Header{}
		if m.source == "carriyo" {
			hdr.Set("event-id", fmt.Sprintf("evt-%d", i))
		}
		p, _ := providers.Lookup(m.source)
		body = bytes.Replace(body, []byte(`"event_id": "`), []byte(fmt.Sprintf(`"event_id": "%d-`, i)), 1)
		body = bytes.Replace(body, []byte(`"uuid": "`), []byte(fmt.Sprintf(`"uuid": "%d-`, i)), 1)
		id, err := p.Identify(providers.Request{Body: body, Header: hdr.Get})
		if err != nil {
			return fmt.Errorf("%s: %w", m.source, err)
		}
		evs, err := p.Map(providers.Raw{Source: m.source, ID: id.ID, Time: time.Now(), Data: body})
		if err != nil {
			return fmt.Errorf("%s: %w", m.source, err)
		}
		for i := range evs {
			evs[i].Normalize()
			unique[evs[i].ID] = true // a seed's second parcel repeats across copies
		}
		e := event.New(cloudevent.SpecVersion)
		e.SetID(id.ID)
		e.SetSource("/webhooks/" + m.source)
		e.SetType(id.Type)
		e.SetTime(time.Now())
		e.DataEncoded = body
		msg, _ := cloudevent.ToMsg(streams.RawSubject(m.source), e)
		if _, err := js.PublishMsgAsync(msg); err != nil {
			return err
		}
	}
	<-js.PublishAsyncComplete()
	want := len(unique)

	cmd := exec.Command(filepath.Join(root, o.bin))
	opsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd.Env = append(os.Environ(), "NATS_URL="+srv.URL(), "HTTP_ADDR="+opsAddr, "WAYBILL_LOG_LEVEL=warn", "WAYBILL_PPROF=true")
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	if o.profile != "" {
		if err := waitReady("http://" + opsAddr + "/healthz"); err != nil {
			return err
		}
		go fetchProfile("http://"+opsAddr, 6*time.Second, o.profile)
	}
	shipStream, _ := js.Stream(ctx, streams.Shipments)
	var t10, t90 time.Time
	var cpu10, cpu90 time.Duration
	for {
		info, err := shipStream.Info(ctx)
		if err != nil {
			return err
		}
		n := int(info.State.Msgs)
		if t10.IsZero() && n >= want/10 {
			t10, cpu10 = time.Now(), procCPU(cmd.Process.Pid)
		}
		if t90.IsZero() && n >= want*9/10 {
			t90, cpu90 = time.Now(), procCPU(cmd.Process.Pid)
		}
		if n >= want {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("only %d of %d events after 10 minutes", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Since(start)
	steady := float64(want*8/10) / t90.Sub(t10).Seconds()
	cpuPer1000 := float64((cpu90 - cpu10).Microseconds()) / 1000 / (float64(want*8/10) / 1000)
	rss := procRSS(cmd.Process.Pid)

	// The limit: async publishes of normalized events of the same size.
	var sizes []int
	si, _ := shipStream.Info(ctx)
	for seq := si.State.FirstSeq; seq < si.State.FirstSeq+200 && seq <= si.State.LastSeq; seq++ {
		if m, err := shipStream.GetMsg(ctx, seq); err == nil {
			sizes = append(sizes, len(m.Data))
			eventBytes += len(m.Data)
		}
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}, Storage: jetstream.FileStorage}); err != nil {
		return err
	}
	payload := make([]byte, eventBytes/max(len(sizes), 1))
	rs := time.Now()
	for i := 0; i < want; i++ {
		if _, err := js.PublishAsync(fmt.Sprintf("bench.%d", i%64), payload, jetstream.WithMsgID(fmt.Sprintf("b%d", i))); err != nil {
			return err
		}
	}
	<-js.PublishAsyncComplete()
	raw := float64(want) / time.Since(rs).Seconds()

	fmt.Printf("# normalizer benchmark: %d raw webhooks (wineshipping 70%%, carriyo, swiftpod, tenovi 10%% each) -> %d events of ~%d B\n",
		o.webhooks, want, len(payload))
	fmt.Printf("# machine: %s\n\n", machine())
	fmt.Println("| events | total s (incl. start and 2 s window) | steady events/s | raw async publish msg/s | ratio | normalizer CPU ms / 1000 events | RSS MiB |")
	fmt.Println("|---|---|---|---|---|---|---|")
	fmt.Printf("| %d | %.1f | %.0f | %.0f | %.2f | %.1f | %.0f |\n", want, total.Seconds(), steady, raw, steady/raw, cpuPer1000, float64(rss)/(1<<20))
	return nil
}
